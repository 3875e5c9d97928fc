// Every wait the e2e harness makes, in one place. Sized for a busy 2-core CI machine.

/** npm install of Node 22 or code-server, apt-get install. */
export const installTimeoutMs = 15 * 60_000;
/** `code-server --install-extension x.vsix`. */
export const installExtensionTimeoutMs = 90_000;
/** From spawning code-server until it prints its listening address. */
export const serverListenTimeoutMs = 60_000;
/** From page.goto until the workbench's status bar exists. */
export const workbenchReadyTimeoutMs = 90_000;
/** From workbench ready until an extension's UI (status bar item, view) shows up. */
export const extensionUiTimeoutMs = 60_000;
/** A single palette / quick-pick / panel interaction. */
export const uiStepTimeoutMs = 20_000;
/** Grace period between SIGTERM and SIGKILL when stopping a process group. */
export const killGraceMs = 5_000;
/** code-server shuts itself down after this long without a browser, in case our process died without cleanup. */
export const orphanServerIdleSeconds = 180;
