/**
 * The Tierwise gateway: a loopback HTTP server that agent clients (Claude Code, Codex, any Anthropic- or
 * OpenAI-compatible client) use as their API. Each request is classified, routed to a tier under the same caps
 * and ledger as the editor, passed through or translated, and settled from the usage in the answer.
 * No `vscode` import: the extension and the CLI both start it.
 */
export { createGateway, startGateway, DEFAULT_MAX_BODY_BYTES, DEFAULT_SHUTDOWN_GRACE_MS, type Gateway, type GatewayOptions, type RunningGateway } from './gateway';
export { gatewayTokenPath, generateGatewayToken, loadOrCreateGatewayToken, GATEWAY_TOKEN_FILE_NAME } from './token';
export { AGENT_TASK_KINDS, classify, detectClient, type AgentClient, type AgentTaskKind, type Classification } from './classify';
export { DEFAULT_AGENT_ROUTES, MODEL_ALIASES } from './route';
export type { SessionSummary } from './sessions';
export type { CodecLookup } from './codecs';
