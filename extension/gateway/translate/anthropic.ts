/** Anthropic Messages API (`POST /v1/messages`): what Claude Code speaks. */
import {
  clientStatus,
  errorHeaders,
  TranslationError,
  type EncodedError,
  type EncodeErrorOptions,
  type GatewayErrorKind,
} from './errors';
import {
  compact,
  isObject,
  optionalArray,
  optionalBoolean,
  optionalNumber,
  optionalPositiveInteger,
  optionalString,
  optionalStringList,
  requireArray,
  requireNonEmptyString,
  requireObject,
  requireString,
  unreadFields,
  type JsonObject,
} from './fields';
import { FramedStreamDecoder, parseFrame, SseParser, sseFrame, type SseMessage } from './framing';
import {
  argumentsObject,
  budgetForEffort,
  effectiveStopReason,
  thinkingTravelsTo,
  withBuildOptions,
  zeroUsage,
  type BuildRequestOptions,
  type CacheControl,
  type IREvent,
  type IRMessage,
  type IRPart,
  type IRRequest,
  type IRResponse,
  type IRStopReason,
  type IRSystemBlock,
  type IRTool,
  type IRToolChoice,
  type IRUsage,
  type ProtocolCodec,
  type StreamDecoder,
  type StreamEncoder,
  type StreamMeta,
} from './ir';
import { BlockSequencer } from './sequence';

const MESSAGES_PATH = '/v1/messages';
/**
 * Anthropic requires max_tokens; this is used when the client set none (Codex never does). Every current Claude
 * model accepts it; the gateway should pass the endpoint's maxOutputTokens when it has one.
 */
const DEFAULT_MAX_TOKENS = 8_192;
/** The smallest thinking budget the API accepts. */
const MIN_THINKING_BUDGET_TOKENS = 1_024;

/** Fields parseRequest models; every other top-level field travels in `extensions` to Anthropic upstreams only. */
const READ_FIELDS = [
  'model',
  'messages',
  'system',
  'max_tokens',
  'tools',
  'tool_choice',
  'thinking',
  'temperature',
  'top_p',
  'stop_sequences',
  'stream',
  'metadata',
] as const;

/** Assistant-side blocks of server tools: history only, dropped when the conversation moves to another protocol. */
const SERVER_TOOL_BLOCKS = new Set([
  'server_tool_use',
  'web_search_tool_result',
  'web_fetch_tool_result',
  'code_execution_tool_result',
  'bash_code_execution_tool_result',
  'text_editor_code_execution_tool_result',
  'tool_search_tool_result',
  'mcp_tool_use',
  'mcp_tool_result',
  'container_upload',
]);

// ---------------------------------------------------------------------------------------------------------------
// Requests

function cacheControlOf(block: JsonObject): CacheControl | undefined {
  return isObject(block.cache_control) ? (block.cache_control as unknown as CacheControl) : undefined;
}

function withCache<T extends object>(part: T, cacheControl: CacheControl | undefined): T {
  return cacheControl ? { ...part, cacheControl } : part;
}

function parseImage(block: JsonObject, field: string): IRPart {
  const source = requireObject(block.source, `${field}.source`);
  const cacheControl = cacheControlOf(block);
  if (source.type === 'base64') {
    return withCache(
      {
        type: 'image' as const,
        mediaType: requireString(source.media_type, `${field}.source.media_type`),
        dataBase64: requireString(source.data, `${field}.source.data`),
      },
      cacheControl,
    );
  }
  if (source.type === 'url') {
    return withCache({ type: 'imageUrl' as const, url: requireString(source.url, `${field}.source.url`) }, cacheControl);
  }
  const what = `an image with a "${String(source.type)}" source`;
  return { type: 'opaque', protocol: 'anthropic', what, value: block, onCross: 'reject' };
}

function parseBlock(value: unknown, field: string, role: IRMessage['role']): IRPart {
  const block = requireObject(value, field);
  const type = requireString(block.type, `${field}.type`);
  const cacheControl = cacheControlOf(block);
  switch (type) {
    case 'text':
      return withCache({ type: 'text' as const, text: requireString(block.text, `${field}.text`) }, cacheControl);
    case 'image':
      return parseImage(block, field);
    case 'tool_use':
      return withCache(
        {
          type: 'toolCall' as const,
          id: requireNonEmptyString(block.id, `${field}.id`),
          name: requireNonEmptyString(block.name, `${field}.name`),
          argumentsJson: JSON.stringify(block.input === undefined ? {} : requireObject(block.input, `${field}.input`)),
        },
        cacheControl,
      );
    case 'tool_result': {
      const content =
        typeof block.content === 'string' || block.content === undefined
          ? ((block.content as string | undefined) ?? '')
          : requireArray(block.content, `${field}.content`).map((item, index) =>
              parseBlock(item, `${field}.content[${index}]`, 'user'),
            );
      const isError = optionalBoolean(block.is_error, `${field}.is_error`);
      return withCache(
        {
          type: 'toolResult' as const,
          toolCallId: requireNonEmptyString(block.tool_use_id, `${field}.tool_use_id`),
          content,
          ...(isError !== undefined && { isError }),
        },
        cacheControl,
      );
    }
    case 'thinking':
      return {
        type: 'thinking',
        text: requireString(block.thinking, `${field}.thinking`),
        ...(typeof block.signature === 'string' && { signature: block.signature }),
        provider: 'anthropic',
        native: block,
      };
    case 'redacted_thinking':
      return {
        type: 'thinking',
        text: '',
        redactedData: requireString(block.data, `${field}.data`),
        provider: 'anthropic',
        native: block,
      };
    case 'document':
      return { type: 'opaque', protocol: 'anthropic', what: 'a document block (PDF or text file)', value: block, onCross: 'reject' };
    default:
      return {
        type: 'opaque',
        protocol: 'anthropic',
        what: `a "${type}" block`,
        value: block,
        // A server tool's history can be left behind; unknown user content cannot, the model has to see it.
        onCross: SERVER_TOOL_BLOCKS.has(type) || role === 'assistant' ? 'drop' : 'reject',
      };
  }
}

function parseMessage(value: unknown, field: string): IRMessage {
  const message = requireObject(value, field);
  const role = message.role;
  if (role !== 'user' && role !== 'assistant') {
    throw new TranslationError(`${field}.role`, `expected "user" or "assistant", got ${JSON.stringify(role)}`);
  }
  const content =
    typeof message.content === 'string'
      ? [{ type: 'text' as const, text: message.content }]
      : requireArray(message.content, `${field}.content`).map((block, index) =>
          parseBlock(block, `${field}.content[${index}]`, role),
        );
  return { role, content };
}

function parseSystem(value: unknown): IRSystemBlock[] {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value ? [{ text: value }] : [];
  return requireArray(value, 'system').map((item, index) => {
    const block = requireObject(item, `system[${index}]`);
    if (block.type !== 'text') {
      throw new TranslationError(`system[${index}].type`, `expected "text", got ${JSON.stringify(block.type)}`);
    }
    return withCache({ text: requireString(block.text, `system[${index}].text`) }, cacheControlOf(block));
  });
}

function parseTool(value: unknown, field: string): IRTool {
  const tool = requireObject(value, field);
  const source = { protocol: 'anthropic' as const, definition: tool };
  if (tool.input_schema !== undefined && (tool.type === undefined || tool.type === null || tool.type === 'custom')) {
    const description = optionalString(tool.description, `${field}.description`);
    return withCache(
      {
        name: requireNonEmptyString(tool.name, `${field}.name`),
        ...(description !== undefined && { description }),
        inputSchema: requireObject(tool.input_schema, `${field}.input_schema`),
        source,
      },
      cacheControlOf(tool),
    );
  }
  // Server and client tools with a versioned type (web_search_20250305, bash_20250124…) have no portable schema.
  const name = optionalString(tool.name, `${field}.name`) ?? requireString(tool.type, `${field}.type`);
  return { name, inputSchema: {}, providerHosted: true, source };
}

function parseToolChoice(value: unknown): { toolChoice?: IRToolChoice; parallelToolCalls?: boolean } {
  if (value === undefined || value === null) return {};
  const choice = requireObject(value, 'tool_choice');
  const disableParallel = optionalBoolean(choice.disable_parallel_tool_use, 'tool_choice.disable_parallel_tool_use');
  const parallel = disableParallel === undefined ? {} : { parallelToolCalls: !disableParallel };
  switch (choice.type) {
    case 'auto':
      return { toolChoice: 'auto', ...parallel };
    case 'any':
      return { toolChoice: 'required', ...parallel };
    case 'none':
      return { toolChoice: 'none', ...parallel };
    case 'tool':
      return { toolChoice: { name: requireNonEmptyString(choice.name, 'tool_choice.name') }, ...parallel };
    default:
      throw new TranslationError('tool_choice.type', `expected auto, any, tool or none, got ${JSON.stringify(choice.type)}`);
  }
}

function parseThinking(value: unknown): IRRequest['thinking'] {
  if (value === undefined || value === null) return undefined;
  const thinking = requireObject(value, 'thinking');
  if (thinking.type === 'enabled') {
    return { budgetTokens: optionalPositiveInteger(thinking.budget_tokens, 'thinking.budget_tokens') ?? MIN_THINKING_BUDGET_TOKENS };
  }
  if (thinking.type === 'disabled') return undefined;
  return { adaptive: true };
}

function parseRequest(body: unknown): IRRequest {
  const request = requireObject(body, 'body');
  const metadata = isObject(request.metadata) ? request.metadata : {};
  const outputConfig = isObject(request.output_config) ? request.output_config : {};
  const format = isObject(outputConfig.format) ? outputConfig.format : undefined;
  const maxOutputTokens = optionalPositiveInteger(request.max_tokens, 'max_tokens');
  const temperature = optionalNumber(request.temperature, 'temperature');
  const topP = optionalNumber(request.top_p, 'top_p');
  const stop = optionalStringList(request.stop_sequences, 'stop_sequences');
  const user = optionalString(metadata.user_id, 'metadata.user_id');
  const thinking = parseThinking(request.thinking);
  const extensionFields = unreadFields(request, READ_FIELDS);
  return {
    model: requireNonEmptyString(request.model, 'model'),
    system: parseSystem(request.system),
    messages: requireArray(request.messages, 'messages').map((message, index) => parseMessage(message, `messages[${index}]`)),
    tools: optionalArray(request.tools, 'tools').map((tool, index) => parseTool(tool, `tools[${index}]`)),
    ...parseToolChoice(request.tool_choice),
    ...(maxOutputTokens !== undefined && { maxOutputTokens }),
    ...(temperature !== undefined && { temperature }),
    ...(topP !== undefined && { topP }),
    ...(stop !== undefined && { stop }),
    stream: optionalBoolean(request.stream, 'stream') ?? false,
    ...(thinking && { thinking }),
    ...(format?.type === 'json_schema' &&
      isObject(format.schema) && { responseFormat: { type: 'json_schema' as const, schema: format.schema } }),
    metadata: { ...(user !== undefined && { user }) },
    ...(extensionFields && { extensions: { protocol: 'anthropic' as const, fields: extensionFields } }),
  };
}

/** Anthropic tool_use ids must match ^[a-zA-Z0-9_-]+$; other servers' ids may not (e.g. "functions.read:0"). */
export function anthropicToolId(id: string): string {
  const cleaned = id.replace(/[^a-zA-Z0-9_-]/g, '_');
  return cleaned || 'toolu_empty';
}

function cacheField(part: { cacheControl?: CacheControl }): { cache_control?: CacheControl } {
  return part.cacheControl ? { cache_control: part.cacheControl } : {};
}

function buildContentBlock(part: IRPart, field: string): JsonObject | undefined {
  switch (part.type) {
    case 'text':
      // The API refuses empty text blocks.
      return part.text ? { type: 'text', text: part.text, ...cacheField(part) } : undefined;
    case 'image':
      return { type: 'image', source: { type: 'base64', media_type: part.mediaType, data: part.dataBase64 }, ...cacheField(part) };
    case 'imageUrl':
      return { type: 'image', source: { type: 'url', url: part.url }, ...cacheField(part) };
    case 'toolCall':
      return {
        type: 'tool_use',
        id: anthropicToolId(part.id),
        name: part.name,
        input: argumentsObject(part.argumentsJson),
        ...cacheField(part),
      };
    case 'toolResult': {
      const content =
        typeof part.content === 'string'
          ? part.content
          : part.content
              .map((inner, index) => buildContentBlock(inner, `${field}.content[${index}]`))
              .filter((block): block is JsonObject => block !== undefined);
      return {
        type: 'tool_result',
        tool_use_id: anthropicToolId(part.toolCallId),
        content,
        ...(part.isError && { is_error: true }),
        ...cacheField(part),
      };
    }
    case 'thinking':
      // Another provider's reasoning (or signature) makes Anthropic answer 400: it stays behind.
      if (!thinkingTravelsTo(part.provider, 'anthropic')) return undefined;
      if (isObject(part.native)) return part.native;
      if (part.redactedData !== undefined) return { type: 'redacted_thinking', data: part.redactedData };
      return part.signature ? { type: 'thinking', thinking: part.text, signature: part.signature } : undefined;
    case 'opaque':
      if (part.protocol === 'anthropic') return part.value as JsonObject;
      if (part.onCross === 'drop') return undefined;
      throw new TranslationError(field, `${part.what} cannot be sent to an Anthropic model`);
  }
}

function buildMessages(messages: IRMessage[]): JsonObject[] {
  const built: Array<{ role: 'user' | 'assistant'; content: JsonObject[] }> = [];
  messages.forEach((message, messageIndex) => {
    const content = message.content
      .map((part, partIndex) => buildContentBlock(part, `messages[${messageIndex}].content[${partIndex}]`))
      .filter((block): block is JsonObject => block !== undefined);
    if (content.length === 0) return;
    const previous = built.at(-1);
    // Consecutive turns of one role (tool messages, then the user's next words) become one turn.
    if (previous && previous.role === message.role) previous.content.push(...content);
    else built.push({ role: message.role, content });
  });
  for (const message of built) {
    // Tool results must open the user turn that answers the tool calls.
    const results = message.content.filter((block) => block.type === 'tool_result');
    if (results.length > 0 && results.length < message.content.length) {
      message.content = [...results, ...message.content.filter((block) => block.type !== 'tool_result')];
    }
  }
  return built;
}

function buildTool(tool: IRTool): JsonObject | undefined {
  if (tool.source?.protocol === 'anthropic') return tool.source.definition as JsonObject;
  if (tool.providerHosted) return undefined;
  const schema = { ...tool.inputSchema };
  if (schema.type === undefined) schema.type = 'object';
  return {
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    input_schema: schema,
    ...cacheField(tool),
  };
}

function buildToolChoice(ir: IRRequest): JsonObject | undefined {
  const disableParallel = ir.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  const choice = ir.toolChoice;
  if (choice === undefined) return ir.parallelToolCalls === false ? { type: 'auto', ...disableParallel } : undefined;
  if (choice === 'none') return { type: 'none' };
  if (choice === 'auto') return { type: 'auto', ...disableParallel };
  if (choice === 'required') return { type: 'any', ...disableParallel };
  return { type: 'tool', name: choice.name, ...disableParallel };
}

/**
 * The thinking setting, or none when the API would refuse it: a forced tool choice, too small an output limit, or
 * a tool-use turn (the last assistant turn) that has no Anthropic thinking block to continue from — which happens
 * when an earlier turn of the conversation was answered by another provider.
 */
function buildThinking(ir: IRRequest, messages: JsonObject[], maxTokens: number): JsonObject | undefined {
  if (!ir.thinking) return undefined;
  if (ir.toolChoice === 'required' || typeof ir.toolChoice === 'object') return undefined;
  const lastAssistant = messages.findLast((message) => message.role === 'assistant');
  const blocks = (lastAssistant?.content ?? []) as JsonObject[];
  const continuesToolUse = blocks.some((block) => block.type === 'tool_use');
  const opensWithThinking = blocks[0]?.type === 'thinking' || blocks[0]?.type === 'redacted_thinking';
  if (continuesToolUse && !opensWithThinking) return undefined;
  if (ir.thinking.adaptive && ir.thinking.budgetTokens === undefined && ir.thinking.effort === undefined) {
    return { type: 'adaptive' };
  }
  const wanted = ir.thinking.budgetTokens ?? budgetForEffort(ir.thinking.effort ?? 'medium');
  const budget = Math.min(wanted, maxTokens - 1);
  if (budget < MIN_THINKING_BUDGET_TOKENS) return undefined;
  return { type: 'enabled', budget_tokens: budget };
}

function buildRequest(request: IRRequest, options: BuildRequestOptions = {}): { path: string; body: JsonObject } {
  const ir = withBuildOptions(request, options);
  const messages = buildMessages(ir.messages);
  const wantedBudget =
    ir.thinking && !ir.thinking.adaptive ? (ir.thinking.budgetTokens ?? budgetForEffort(ir.thinking.effort ?? 'medium')) : 0;
  const maxTokens = ir.maxOutputTokens ?? DEFAULT_MAX_TOKENS + wantedBudget;
  const thinking = buildThinking(ir, messages, maxTokens);
  const tools = ir.tools.map(buildTool).filter((tool): tool is JsonObject => tool !== undefined);
  const extensions = ir.extensions?.protocol === 'anthropic' ? ir.extensions.fields : {};
  const outputConfig = isObject(extensions.output_config) ? { ...extensions.output_config } : {};
  if (ir.responseFormat?.type === 'json_schema') outputConfig.format = { type: 'json_schema', schema: ir.responseFormat.schema };
  const body: JsonObject = compact({
    model: ir.model,
    max_tokens: maxTokens,
    system: ir.system.length > 0 ? ir.system.map((block) => ({ type: 'text', text: block.text, ...cacheField(block) })) : undefined,
    messages,
    tools: tools.length > 0 ? tools : undefined,
    tool_choice: tools.length > 0 ? buildToolChoice(ir) : undefined,
    thinking,
    // With thinking on, the API only accepts the default sampling. OpenAI's temperature goes up to 2, Anthropic's to 1.
    temperature: thinking || ir.temperature === undefined ? undefined : Math.min(1, Math.max(0, ir.temperature)),
    top_p: thinking ? undefined : ir.topP,
    stop_sequences: ir.stop && ir.stop.length > 0 ? ir.stop : undefined,
    stream: ir.stream,
    metadata: ir.metadata.user !== undefined ? { user_id: ir.metadata.user } : undefined,
    output_config: Object.keys(outputConfig).length > 0 ? outputConfig : undefined,
  });
  for (const [key, value] of Object.entries(extensions)) {
    if (!(key in body) && key !== 'output_config' && !(thinking && key === 'top_k')) body[key] = value;
  }
  return { path: MESSAGES_PATH, body };
}

// ---------------------------------------------------------------------------------------------------------------
// Usage, stop reasons and errors

function count(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Anthropic usage → IR. Cache writes: the 1h part from the breakdown, the rest of the total as 5m writes (a server
 * that sends only the total wrote 5m entries, the default TTL). `update` (message_delta) overrides `base`
 * (message_start) field by field.
 */
function usageFromWire(base: unknown, update?: unknown): IRUsage {
  const start = isObject(base) ? base : {};
  const delta = isObject(update) ? update : {};
  const pick = (key: string): number | undefined => count(delta[key]) ?? count(start[key]);
  const either = (key: string): JsonObject | undefined =>
    isObject(delta[key]) ? (delta[key] as JsonObject) : isObject(start[key]) ? (start[key] as JsonObject) : undefined;
  const breakdown = either('cache_creation');
  const write1h = count(breakdown?.ephemeral_1h_input_tokens) ?? 0;
  const written =
    pick('cache_creation_input_tokens') ?? (count(breakdown?.ephemeral_5m_input_tokens) ?? 0) + write1h;
  const details = either('output_tokens_details') ?? {};
  return {
    inputTokens: pick('input_tokens') ?? 0,
    outputTokens: pick('output_tokens') ?? 0,
    cacheReadTokens: pick('cache_read_input_tokens') ?? 0,
    cacheWrite5mTokens: Math.max(0, written - write1h),
    cacheWrite1hTokens: write1h,
    reasoningTokens: count(details.thinking_tokens) ?? 0,
  };
}

function usageToWire(usage: IRUsage): JsonObject {
  return {
    input_tokens: usage.inputTokens,
    cache_creation_input_tokens: usage.cacheWrite5mTokens + usage.cacheWrite1hTokens,
    cache_read_input_tokens: usage.cacheReadTokens,
    cache_creation: { ephemeral_5m_input_tokens: usage.cacheWrite5mTokens, ephemeral_1h_input_tokens: usage.cacheWrite1hTokens },
    output_tokens: usage.outputTokens,
  };
}

function stopReasonFromWire(reason: string | null | undefined): IRStopReason {
  switch (reason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'maxTokens';
    case 'tool_use':
      return 'toolUse';
    case 'stop_sequence':
      return 'stopSequence';
    case 'refusal':
      return 'contentFilter';
    default:
      // end_turn, and pause_turn (a server tool paused a long turn; other protocols have no way to resume it).
      return 'end';
  }
}

function stopReasonToWire(reason: IRStopReason): string {
  switch (reason) {
    case 'end':
      return 'end_turn';
    case 'maxTokens':
      return 'max_tokens';
    case 'toolUse':
      return 'tool_use';
    case 'stopSequence':
      return 'stop_sequence';
    case 'contentFilter':
      return 'refusal';
  }
}

const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  529: 'overloaded_error',
};

export function anthropicErrorType(status: number): string {
  return ERROR_TYPE_BY_STATUS[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
}

const STATUS_BY_ERROR_TYPE: Record<string, number> = Object.fromEntries(
  Object.entries(ERROR_TYPE_BY_STATUS).map(([status, type]) => [type, Number(status)]),
);

/**
 * Claude Code re-sends a refused 400 several times with fewer beta features (seen with 2.1.330: 6 requests), but stops
 * at once on 402 `billing_error` and prints the message: the right answer to a spend cap.
 */
const ANTHROPIC_BUDGET_STATUS = 402;

function encodeError(status: number, message: string, kind: GatewayErrorKind, options?: EncodeErrorOptions): EncodedError {
  const clientFacing = kind === 'budget' ? ANTHROPIC_BUDGET_STATUS : clientStatus(kind, status, 529);
  return {
    status: clientFacing,
    headers: errorHeaders(clientFacing, options),
    body: { type: 'error', error: { type: anthropicErrorType(clientFacing), message } },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

function parseResponse(json: unknown): IRResponse {
  const message = requireObject(json, 'response');
  const content: IRPart[] = [];
  requireArray(message.content, 'response.content').forEach((value, index) => {
    const block = requireObject(value, `response.content[${index}]`);
    if (block.type === 'text' || block.type === 'tool_use' || block.type === 'thinking' || block.type === 'redacted_thinking') {
      content.push(parseBlock(block, `response.content[${index}]`, 'assistant'));
    }
  });
  const stopReason = stopReasonFromWire(optionalString(message.stop_reason, 'response.stop_reason'));
  const stopSequence = optionalString(message.stop_sequence, 'response.stop_sequence');
  return {
    id: optionalString(message.id, 'response.id') ?? '',
    model: optionalString(message.model, 'response.model') ?? '',
    content,
    stopReason: effectiveStopReason(stopReason, content.some((part) => part.type === 'toolCall')),
    ...(stopSequence !== undefined && { stopSequence }),
    usage: usageFromWire(message.usage),
    usageReported: isObject(message.usage),
  };
}

function responseBlock(part: IRPart): JsonObject | undefined {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'toolCall':
      return { type: 'tool_use', id: anthropicToolId(part.id), name: part.name, input: argumentsObject(part.argumentsJson) };
    case 'thinking':
      if (!thinkingTravelsTo(part.provider, 'anthropic')) return undefined;
      if (part.redactedData !== undefined) return { type: 'redacted_thinking', data: part.redactedData };
      return { type: 'thinking', thinking: part.text, signature: part.signature ?? '' };
    default:
      return undefined;
  }
}

function encodeResponse(response: IRResponse, meta: StreamMeta): JsonObject {
  const content = response.content.map(responseBlock).filter((block): block is JsonObject => block !== undefined);
  return {
    id: meta.id,
    type: 'message',
    role: 'assistant',
    model: meta.model,
    content,
    stop_reason: stopReasonToWire(response.stopReason),
    stop_sequence: response.stopSequence ?? null,
    usage: usageToWire(response.usage),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Streams

type DecodedBlock =
  | { kind: 'text' }
  | { kind: 'tool'; index: number }
  | { kind: 'thinking'; signature?: string }
  | { kind: 'ignored' };

class AnthropicStreamDecoder extends FramedStreamDecoder<SseMessage> implements StreamDecoder {
  private readonly blocks = new Map<number, DecodedBlock>();
  private nextToolIndex = 0;
  private startUsage: unknown;
  private deltaUsage: unknown;
  private stopReason: string | undefined;
  private stopSequence: string | undefined;

  constructor() {
    super(new SseParser(), 'api_error', 'The Anthropic stream ended before message_stop.');
  }

  protected decode(message: SseMessage, events: IREvent[]): void {
    this.frame(parseFrame(message.data, `Anthropic ${message.event ?? 'stream'} event`), events);
  }

  private frame(frame: JsonObject, events: IREvent[]): void {
    const index = typeof frame.index === 'number' ? frame.index : -1;
    switch (frame.type) {
      case 'message_start': {
        const message = isObject(frame.message) ? frame.message : {};
        this.startUsage = message.usage;
        events.push({
          type: 'start',
          id: typeof message.id === 'string' ? message.id : '',
          model: typeof message.model === 'string' ? message.model : '',
          ...(isObject(message.usage) && { usage: usageFromWire(message.usage) }),
        });
        break;
      }
      case 'content_block_start': {
        const block = isObject(frame.content_block) ? frame.content_block : {};
        if (block.type === 'text') {
          this.blocks.set(index, { kind: 'text' });
          if (typeof block.text === 'string' && block.text) events.push({ type: 'textDelta', text: block.text });
        } else if (block.type === 'tool_use') {
          const toolIndex = this.nextToolIndex++;
          this.blocks.set(index, { kind: 'tool', index: toolIndex });
          events.push({ type: 'toolCallStart', index: toolIndex, id: String(block.id ?? ''), name: String(block.name ?? '') });
          if (isObject(block.input) && Object.keys(block.input).length > 0) {
            events.push({ type: 'toolCallDelta', index: toolIndex, argumentsJsonDelta: JSON.stringify(block.input) });
          }
        } else if (block.type === 'thinking') {
          this.blocks.set(index, { kind: 'thinking' });
          if (typeof block.thinking === 'string' && block.thinking) {
            events.push({ type: 'thinkingDelta', text: block.thinking, provider: 'anthropic' });
          }
        } else if (block.type === 'redacted_thinking') {
          this.blocks.set(index, { kind: 'ignored' });
          events.push({ type: 'thinkingEnd', provider: 'anthropic', redactedData: String(block.data ?? '') });
        } else {
          // Server tool blocks run at Anthropic; clients of other protocols cannot replay them.
          this.blocks.set(index, { kind: 'ignored' });
        }
        break;
      }
      case 'content_block_delta': {
        const block = this.blocks.get(index);
        const delta = isObject(frame.delta) ? frame.delta : {};
        if (delta.type === 'text_delta' && block?.kind === 'text' && typeof delta.text === 'string' && delta.text) {
          events.push({ type: 'textDelta', text: delta.text });
        } else if (
          delta.type === 'input_json_delta' &&
          block?.kind === 'tool' &&
          typeof delta.partial_json === 'string' &&
          delta.partial_json
        ) {
          events.push({ type: 'toolCallDelta', index: block.index, argumentsJsonDelta: delta.partial_json });
        } else if (delta.type === 'thinking_delta' && block?.kind === 'thinking' && typeof delta.thinking === 'string' && delta.thinking) {
          events.push({ type: 'thinkingDelta', text: delta.thinking, provider: 'anthropic' });
        } else if (delta.type === 'signature_delta' && block?.kind === 'thinking' && typeof delta.signature === 'string') {
          block.signature = (block.signature ?? '') + delta.signature;
        }
        break;
      }
      case 'content_block_stop': {
        const block = this.blocks.get(index);
        if (block?.kind === 'tool') events.push({ type: 'toolCallEnd', index: block.index });
        if (block?.kind === 'thinking') {
          events.push({ type: 'thinkingEnd', provider: 'anthropic', ...(block.signature !== undefined && { signature: block.signature }) });
        }
        this.blocks.delete(index);
        break;
      }
      case 'message_delta': {
        const delta = isObject(frame.delta) ? frame.delta : {};
        if (typeof delta.stop_reason === 'string') this.stopReason = delta.stop_reason;
        if (typeof delta.stop_sequence === 'string') this.stopSequence = delta.stop_sequence;
        if (isObject(frame.usage)) this.deltaUsage = frame.usage;
        break;
      }
      case 'message_stop':
        this.finished = true;
        events.push({ type: 'usage', usage: usageFromWire(this.startUsage, this.deltaUsage) });
        events.push({
          type: 'stop',
          reason: effectiveStopReason(stopReasonFromWire(this.stopReason), this.nextToolIndex > 0),
          ...(this.stopSequence !== undefined && { stopSequence: this.stopSequence }),
        });
        break;
      case 'error': {
        const error = isObject(frame.error) ? frame.error : {};
        const errorType = typeof error.type === 'string' ? error.type : 'api_error';
        this.finished = true;
        events.push({
          type: 'error',
          ...(STATUS_BY_ERROR_TYPE[errorType] !== undefined && { status: STATUS_BY_ERROR_TYPE[errorType] }),
          errorType,
          message: typeof error.message === 'string' ? error.message : 'The Anthropic stream reported an error.',
        });
        break;
      }
      // ping and unknown events carry nothing to translate.
    }
  }
}

type OpenBlock = 'text' | 'thinking' | 'tool' | undefined;

class AnthropicStreamEncoder implements StreamEncoder {
  private readonly sequencer = new BlockSequencer();
  private started = false;
  private blockCount = 0;
  private open: OpenBlock;
  private startUsage: IRUsage | undefined;
  private usage: IRUsage | undefined;
  private stop: Extract<IREvent, { type: 'stop' }> | undefined;
  private calledTools = false;
  private closed = false;

  constructor(private readonly meta: StreamMeta) {}

  encode(event: IREvent): string {
    if (this.closed) return '';
    return this.sequencer.push(event).map((sequenced) => this.write(sequenced)).join('');
  }

  end(): string {
    if (this.closed) return '';
    const out = this.sequencer.finish().map((event) => this.write(event)).join('') + this.begin() + this.closeBlock();
    this.closed = true;
    const usage = this.usage ?? this.startUsage ?? zeroUsage();
    const reason = effectiveStopReason(this.stop?.reason, this.calledTools);
    return (
      out +
      sseFrame('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReasonToWire(reason), stop_sequence: this.stop?.stopSequence ?? null },
        usage: usageToWire(usage),
      }) +
      sseFrame('message_stop', { type: 'message_stop' })
    );
  }

  private begin(usage?: IRUsage): string {
    if (this.started) return '';
    this.started = true;
    this.startUsage = usage;
    const initial = usage ?? zeroUsage();
    return (
      sseFrame('message_start', {
        type: 'message_start',
        message: {
          id: this.meta.id,
          type: 'message',
          role: 'assistant',
          model: this.meta.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: usageToWire(initial),
        },
      }) + sseFrame('ping', { type: 'ping' })
    );
  }

  private openBlock(kind: Exclude<OpenBlock, undefined>, contentBlock: JsonObject): string {
    const start = { type: 'content_block_start', index: this.blockCount, content_block: contentBlock };
    const out = this.closeBlock() + sseFrame('content_block_start', start);
    this.open = kind;
    this.blockCount++;
    return out;
  }

  private closeBlock(): string {
    if (this.open === undefined) return '';
    this.open = undefined;
    return sseFrame('content_block_stop', { type: 'content_block_stop', index: this.blockCount - 1 });
  }

  private delta(delta: JsonObject): string {
    return sseFrame('content_block_delta', { type: 'content_block_delta', index: this.blockCount - 1, delta });
  }

  private write(event: IREvent): string {
    switch (event.type) {
      case 'start':
        return this.begin(event.usage);
      case 'textDelta': {
        if (!event.text) return '';
        const open = this.open === 'text' ? '' : this.openBlock('text', { type: 'text', text: '' });
        return this.begin() + open + this.delta({ type: 'text_delta', text: event.text });
      }
      case 'thinkingDelta': {
        if (!thinkingTravelsTo(event.provider, 'anthropic') || !event.text) return '';
        const open = this.open === 'thinking' ? '' : this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
        return this.begin() + open + this.delta({ type: 'thinking_delta', thinking: event.text });
      }
      case 'thinkingEnd': {
        if (!thinkingTravelsTo(event.provider, 'anthropic')) return '';
        if (event.redactedData !== undefined) {
          return this.begin() + this.openBlock('thinking', { type: 'redacted_thinking', data: event.redactedData }) + this.closeBlock();
        }
        const open = this.open === 'thinking' ? '' : this.openBlock('thinking', { type: 'thinking', thinking: '', signature: '' });
        const signature = event.signature ? this.delta({ type: 'signature_delta', signature: event.signature }) : '';
        return this.begin() + open + signature + this.closeBlock();
      }
      case 'toolCallStart':
        this.calledTools = true;
        return (
          this.begin() +
          this.openBlock('tool', { type: 'tool_use', id: anthropicToolId(event.id), name: event.name, input: {} })
        );
      case 'toolCallDelta':
        return this.open === 'tool' && event.argumentsJsonDelta
          ? this.delta({ type: 'input_json_delta', partial_json: event.argumentsJsonDelta })
          : '';
      case 'toolCallEnd':
        return this.open === 'tool' ? this.closeBlock() : '';
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'stop':
        this.stop = event;
        return '';
      case 'error': {
        // The upstream's own Anthropic type is kept, so that a retryable overload stays recognisable as one.
        this.closed = true;
        const type =
          event.status !== undefined
            ? anthropicErrorType(event.status)
            : event.errorType in STATUS_BY_ERROR_TYPE
              ? event.errorType
              : 'api_error';
        return sseFrame('error', { type: 'error', error: { type, message: event.message } });
      }
    }
  }
}

export const anthropicCodec: ProtocolCodec = {
  protocol: 'anthropic',
  streamContentType: 'text/event-stream',
  parseRequest,
  buildRequest,
  createStreamDecoder: () => new AnthropicStreamDecoder(),
  createStreamEncoder: (meta) => new AnthropicStreamEncoder(meta),
  parseResponse,
  encodeResponse,
  encodeError,
  usageFromWire: (usage) => usageFromWire(usage),
  usageToWire,
  stopReasonFromWire,
  stopReasonToWire,
};
