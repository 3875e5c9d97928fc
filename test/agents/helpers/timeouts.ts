// Every wait the agent-client tests make, in one place. Sized for a busy 2-core CI machine.

/** `npm install` of both clients (about 800 MB of native binaries). */
export const installTimeoutMs = 10 * 60_000;
/** `claude --version` / `codex --version` after installing. */
export const versionCheckTimeoutMs = 30_000;
/** From spawning `tierwise gateway` until it prints its JSON line. */
export const gatewayListenTimeoutMs = 20_000;
/** One client run (a scenario of a few model turns against loopback fakes). */
export const clientRunTimeoutMs = 120_000;
/** A client that a cap blocks must give up within this long, not retry for minutes. */
export const blockedClientExitTimeoutMs = 60_000;
/** Between SIGTERM and SIGKILL when stopping a process group. */
export const killGraceMs = 3_000;
/** A whole test: install (first run only) plus one client run. */
export const scenarioTestTimeoutMs = installTimeoutMs + 2 * clientRunTimeoutMs;
