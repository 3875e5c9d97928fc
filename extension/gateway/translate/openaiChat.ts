/** OpenAI Chat Completions (`POST /v1/chat/completions`), also spoken by most OpenAI-compatible servers. */
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
  dataUrl,
  isObject,
  optionalArray,
  optionalBoolean,
  optionalNumber,
  optionalPositiveInteger,
  optionalString,
  optionalStringList,
  parseDataUrl,
  requireArray,
  requireNonEmptyString,
  requireObject,
  requireString,
  unreadFields,
  tokenCount,
  type JsonObject,
} from './fields';
import { FramedStreamDecoder, parseFrame, SseParser, sseFrame, type SseMessage } from './framing';
import {
  effectiveStopReason,
  randomToken,
  systemText,
  thinkingEffort,
  thinkingTravelsTo,
  toolResultText,
  totalPromptTokens,
  withBuildOptions,
  zeroUsage,
  type BuildRequestOptions,
  type DecoderOptions,
  type IREvent,
  type IRMessage,
  type IRPart,
  type IRPartOf,
  type IRRequest,
  type IRResponse,
  type IRStopReason,
  type IRSystemBlock,
  type IRTool,
  type IRToolChoice,
  type IRUsage,
  type JsonSchema,
  type ProtocolCodec,
  type ReasoningEffort,
  type StreamDecoder,
  type StreamEncoder,
  type StreamMeta,
} from './ir';

const COMPLETIONS_PATH = '/v1/chat/completions';

const READ_FIELDS = [
  'model',
  'messages',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'stream',
  'stream_options',
  'response_format',
  'user',
  'prompt_cache_key',
  'reasoning_effort',
] as const;

/** Chat has no is_error on tool results; the model learns of the failure from this prefix. */
export const TOOL_ERROR_PREFIX = '[tool error] ';

// ---------------------------------------------------------------------------------------------------------------
// Requests

function textOfContent(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (value === undefined || value === null) return '';
  return requireArray(value, field)
    .map((item, index) => {
      const part = requireObject(item, `${field}[${index}]`);
      if (part.type === 'text') return requireString(part.text, `${field}[${index}].text`);
      if (part.type === 'refusal') return requireString(part.refusal, `${field}[${index}].refusal`);
      throw new TranslationError(`${field}[${index}].type`, `expected a text part here, got ${JSON.stringify(part.type)}`);
    })
    .join('');
}

function parseUserPart(value: unknown, field: string): IRPart {
  const part = requireObject(value, field);
  switch (part.type) {
    case 'text':
      return { type: 'text', text: requireString(part.text, `${field}.text`) };
    case 'image_url': {
      const imageUrl = requireObject(part.image_url, `${field}.image_url`);
      const url = requireString(imageUrl.url, `${field}.image_url.url`);
      const data = parseDataUrl(url);
      return data ? { type: 'image', ...data } : { type: 'imageUrl', url };
    }
    default:
      return { type: 'opaque', protocol: 'openaiChat', what: `a "${String(part.type)}" content part`, value: part, onCross: 'reject' };
  }
}

function parseUserContent(value: unknown, field: string): IRPart[] {
  if (typeof value === 'string') return [{ type: 'text', text: value }];
  return requireArray(value, field).map((part, index) => parseUserPart(part, `${field}[${index}]`));
}

function parseAssistant(message: JsonObject, field: string): IRMessage {
  const content: IRPart[] = [];
  const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : message.reasoning;
  if (typeof reasoning === 'string' && reasoning) content.push({ type: 'thinking', text: reasoning, provider: 'other' });
  const text = textOfContent(message.content, `${field}.content`);
  if (text) content.push({ type: 'text', text });
  optionalArray(message.tool_calls, `${field}.tool_calls`).forEach((item, index) => {
    const call = requireObject(item, `${field}.tool_calls[${index}]`);
    const fn = requireObject(call.function, `${field}.tool_calls[${index}].function`);
    content.push({
      type: 'toolCall',
      id: requireNonEmptyString(call.id, `${field}.tool_calls[${index}].id`),
      name: requireNonEmptyString(fn.name, `${field}.tool_calls[${index}].function.name`),
      argumentsJson: optionalString(fn.arguments, `${field}.tool_calls[${index}].function.arguments`) ?? '',
    });
  });
  return { role: 'assistant', content };
}

function parseToolResultContent(value: unknown, field: string): string | IRPart[] {
  if (typeof value === 'string') return value;
  return requireArray(value, field).map((part, index) => parseUserPart(part, `${field}[${index}]`));
}

function parseMessages(value: unknown): { system: IRSystemBlock[]; messages: IRMessage[] } {
  const system: IRSystemBlock[] = [];
  const messages: IRMessage[] = [];
  requireArray(value, 'messages').forEach((item, index) => {
    const field = `messages[${index}]`;
    const message = requireObject(item, field);
    switch (message.role) {
      case 'system':
      case 'developer': {
        const text = textOfContent(message.content, `${field}.content`);
        if (messages.length === 0) system.push({ text, role: message.role });
        else messages.push({ role: 'user', content: [{ type: 'text', text }], instruction: message.role });
        break;
      }
      case 'user':
        messages.push({ role: 'user', content: parseUserContent(message.content, `${field}.content`) });
        break;
      case 'assistant':
        messages.push(parseAssistant(message, field));
        break;
      case 'tool': {
        const result: IRPart = {
          type: 'toolResult',
          toolCallId: requireNonEmptyString(message.tool_call_id, `${field}.tool_call_id`),
          content: parseToolResultContent(message.content, `${field}.content`),
        };
        const previous = messages.at(-1);
        // Consecutive tool messages answer one assistant turn: they become one user turn.
        if (previous?.role === 'user' && !previous.instruction && previous.content.every((part) => part.type === 'toolResult')) {
          previous.content.push(result);
        } else {
          messages.push({ role: 'user', content: [result] });
        }
        break;
      }
      default:
        throw new TranslationError(
          `${field}.role`,
          `expected system, developer, user, assistant or tool, got ${JSON.stringify(message.role)}`,
        );
    }
  });
  return { system, messages };
}

/** A function without parameters takes none. */
export function parametersSchema(value: unknown, field: string): JsonSchema {
  return value === undefined || value === null ? { type: 'object', properties: {} } : requireObject(value, field);
}

function parseTool(value: unknown, field: string): IRTool {
  const tool = requireObject(value, field);
  const source = { protocol: 'openaiChat' as const, definition: tool };
  if (tool.type !== 'function') {
    return { name: String(tool.name ?? tool.type), inputSchema: {}, providerHosted: true, source };
  }
  const fn = requireObject(tool.function, `${field}.function`);
  const description = optionalString(fn.description, `${field}.function.description`);
  const strict = optionalBoolean(fn.strict, `${field}.function.strict`);
  return {
    name: requireNonEmptyString(fn.name, `${field}.function.name`),
    ...(description !== undefined && { description }),
    inputSchema: parametersSchema(fn.parameters, `${field}.function.parameters`),
    ...(strict !== undefined && { strict }),
    source,
  };
}

function parseToolChoice(value: unknown): IRToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  const choice = requireObject(value, 'tool_choice');
  if (choice.type === 'function') {
    return { name: requireNonEmptyString(requireObject(choice.function, 'tool_choice.function').name, 'tool_choice.function.name') };
  }
  // allowed_tools and custom choices narrow the set; the nearest portable meaning is "auto".
  return 'auto';
}

function parseResponseFormat(value: unknown): IRRequest['responseFormat'] {
  if (value === undefined || value === null) return undefined;
  const format = requireObject(value, 'response_format');
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type === 'json_schema') {
    const spec = requireObject(format.json_schema, 'response_format.json_schema');
    const name = optionalString(spec.name, 'response_format.json_schema.name');
    const strict = optionalBoolean(spec.strict, 'response_format.json_schema.strict');
    return {
      type: 'json_schema',
      schema: requireObject(spec.schema, 'response_format.json_schema.schema'),
      ...(name !== undefined && { name }),
      ...(strict !== undefined && { strict }),
    };
  }
  return undefined;
}

export function parseEffort(value: unknown, field: string): ReasoningEffort | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'minimal' || value === 'low' || value === 'medium' || value === 'high') return value;
  if (value === 'none') return undefined;
  if (value === 'xhigh') return 'high';
  throw new TranslationError(field, `expected minimal, low, medium or high, got ${JSON.stringify(value)}`);
}

function parseRequest(body: unknown): IRRequest {
  const request = requireObject(body, 'body');
  const { system, messages } = parseMessages(request.messages);
  const toolChoice = parseToolChoice(request.tool_choice);
  const parallelToolCalls = optionalBoolean(request.parallel_tool_calls, 'parallel_tool_calls');
  const maxOutputTokens =
    optionalPositiveInteger(request.max_completion_tokens, 'max_completion_tokens') ??
    optionalPositiveInteger(request.max_tokens, 'max_tokens');
  const temperature = optionalNumber(request.temperature, 'temperature');
  const topP = optionalNumber(request.top_p, 'top_p');
  const stop = optionalStringList(request.stop, 'stop');
  const effort = parseEffort(request.reasoning_effort, 'reasoning_effort');
  const responseFormat = parseResponseFormat(request.response_format);
  const streamOptions = isObject(request.stream_options) ? request.stream_options : {};
  const includeUsage = optionalBoolean(streamOptions.include_usage, 'stream_options.include_usage');
  const user = optionalString(request.user, 'user');
  const promptCacheKey = optionalString(request.prompt_cache_key, 'prompt_cache_key');
  const extensionFields = unreadFields(request, READ_FIELDS);
  return {
    model: requireNonEmptyString(request.model, 'model'),
    system,
    messages,
    tools: optionalArray(request.tools, 'tools').map((tool, index) => parseTool(tool, `tools[${index}]`)),
    ...(toolChoice !== undefined && { toolChoice }),
    ...(parallelToolCalls !== undefined && { parallelToolCalls }),
    ...(maxOutputTokens !== undefined && { maxOutputTokens }),
    ...(temperature !== undefined && { temperature }),
    ...(topP !== undefined && { topP }),
    ...(stop !== undefined && { stop }),
    stream: optionalBoolean(request.stream, 'stream') ?? false,
    ...(effort !== undefined && { thinking: { effort } }),
    ...(responseFormat && { responseFormat }),
    metadata: { ...(promptCacheKey !== undefined && { promptCacheKey }), ...(user !== undefined && { user }) },
    ...(includeUsage !== undefined && { streamIncludeUsage: includeUsage }),
    ...(extensionFields && { extensions: { protocol: 'openaiChat' as const, fields: extensionFields } }),
  };
}

function contentPart(part: IRPart, field: string): JsonObject | undefined {
  switch (part.type) {
    case 'text':
      return { type: 'text', text: part.text };
    case 'image':
      return { type: 'image_url', image_url: { url: dataUrl(part.mediaType, part.dataBase64) } };
    case 'imageUrl':
      return { type: 'image_url', image_url: { url: part.url } };
    case 'opaque':
      if (part.protocol === 'openaiChat') return part.value as JsonObject;
      if (part.onCross === 'drop') return undefined;
      throw new TranslationError(field, `${part.what} cannot be sent to an OpenAI Chat model`);
    default:
      return undefined;
  }
}

/** A single text part travels as a plain string: the form every OpenAI-compatible server accepts. */
function userContent(parts: JsonObject[]): string | JsonObject[] {
  if (parts.length === 1 && parts[0]!.type === 'text') return parts[0]!.text as string;
  return parts;
}

function buildUserMessages(message: IRMessage, field: string): JsonObject[] {
  const out: JsonObject[] = [];
  const rest: JsonObject[] = [];
  const resultImages: JsonObject[] = [];
  message.content.forEach((part, index) => {
    const partField = `${field}.content[${index}]`;
    if (part.type === 'toolResult') {
      let text = toolResultText(part.content);
      if (part.isError) text = TOOL_ERROR_PREFIX + text;
      out.push({ role: 'tool', tool_call_id: part.toolCallId, content: text });
      // Chat tool messages carry text only: a tool's images follow in a user message.
      if (typeof part.content !== 'string') {
        part.content.forEach((inner, innerIndex) => {
          const innerField = `${partField}.content[${innerIndex}]`;
          if (inner.type === 'image' || inner.type === 'imageUrl') resultImages.push(contentPart(inner, innerField)!);
          else if (inner.type === 'opaque') contentPart(inner, innerField);
        });
      }
      return;
    }
    const built = contentPart(part, partField);
    if (built && !(built.type === 'text' && built.text === '')) rest.push(built);
  });
  const userParts = [...resultImages, ...rest];
  if (userParts.length > 0) {
    if (message.instruction) out.push({ role: 'system', content: userParts.map((part) => String(part.text ?? '')).join('') });
    else out.push({ role: 'user', content: userContent(userParts) });
  }
  return out;
}

function buildAssistantMessage(message: IRMessage, field: string): JsonObject | undefined {
  const texts: string[] = [];
  const toolCalls: JsonObject[] = [];
  message.content.forEach((part, index) => {
    if (part.type === 'text') texts.push(part.text);
    else if (part.type === 'toolCall') {
      toolCalls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.argumentsJson || '{}' } });
    } else if (part.type === 'opaque') contentPart(part, `${field}.content[${index}]`);
  });
  const text = texts.join('');
  if (!text && toolCalls.length === 0) return undefined;
  return { role: 'assistant', content: text || null, ...(toolCalls.length > 0 && { tool_calls: toolCalls }) };
}

function buildTool(tool: IRTool): JsonObject | undefined {
  if (tool.source?.protocol === 'openaiChat') return tool.source.definition as JsonObject;
  if (tool.providerHosted) return undefined;
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description !== undefined && { description: tool.description }),
      parameters: tool.inputSchema,
      ...(tool.strict !== undefined && { strict: tool.strict }),
    },
  };
}

function buildToolChoice(choice: IRToolChoice | undefined): unknown {
  if (choice === undefined || typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.name } };
}

function buildResponseFormat(format: IRRequest['responseFormat']): JsonObject | undefined {
  if (!format) return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  return {
    type: 'json_schema',
    json_schema: { name: format.name ?? 'response', schema: format.schema, ...(format.strict !== undefined && { strict: format.strict }) },
  };
}

function buildRequest(request: IRRequest, options: BuildRequestOptions = {}): { path: string; body: JsonObject } {
  const ir = withBuildOptions(request, options);
  // One system message: many local chat templates accept a single one, first.
  const messages: JsonObject[] = ir.system.length > 0 ? [{ role: 'system', content: systemText(ir.system) }] : [];
  ir.messages.forEach((message, index) => {
    const field = `messages[${index}]`;
    if (message.role === 'user') messages.push(...buildUserMessages(message, field));
    else {
      const assistant = buildAssistantMessage(message, field);
      if (assistant) messages.push(assistant);
    }
  });
  const tools = ir.tools.map(buildTool).filter((tool): tool is JsonObject => tool !== undefined);
  const extensions = ir.extensions?.protocol === 'openaiChat' ? ir.extensions.fields : {};
  const body: JsonObject = compact({
    model: ir.model,
    messages,
    tools: tools.length > 0 ? tools : undefined,
    tool_choice: tools.length > 0 ? buildToolChoice(ir.toolChoice) : undefined,
    parallel_tool_calls: tools.length > 0 ? ir.parallelToolCalls : undefined,
    [options.outputLimitField ?? 'max_tokens']: ir.maxOutputTokens,
    temperature: ir.temperature,
    top_p: ir.topP,
    stop: ir.stop && ir.stop.length > 0 ? ir.stop : undefined,
    stream: ir.stream,
    // Usage is what the budget settles on: always ask for it.
    stream_options: ir.stream
      ? { ...(isObject(extensions.stream_options) ? extensions.stream_options : {}), include_usage: true }
      : undefined,
    response_format: buildResponseFormat(ir.responseFormat),
    reasoning_effort: ir.thinking ? thinkingEffort(ir.thinking) : undefined,
    prompt_cache_key: ir.metadata.promptCacheKey,
    user: ir.metadata.user,
  });
  for (const [key, value] of Object.entries(extensions)) if (!(key in body)) body[key] = value;
  return { path: COMPLETIONS_PATH, body };
}

// ---------------------------------------------------------------------------------------------------------------
// Usage, stop reasons and errors

/** OpenAI counts cached tokens inside prompt_tokens; the IR keeps them apart because they are billed lower. */
function usageFromWire(usage: unknown): IRUsage {
  if (!isObject(usage)) return zeroUsage();
  const promptDetails = isObject(usage.prompt_tokens_details) ? usage.prompt_tokens_details : {};
  const completionDetails = isObject(usage.completion_tokens_details) ? usage.completion_tokens_details : {};
  const cached = tokenCount(promptDetails.cached_tokens);
  return {
    ...zeroUsage(),
    inputTokens: Math.max(0, tokenCount(usage.prompt_tokens) - cached),
    cacheReadTokens: cached,
    outputTokens: tokenCount(usage.completion_tokens),
    reasoningTokens: tokenCount(completionDetails.reasoning_tokens),
  };
}

/** Cache writes have no OpenAI field: they are counted as ordinary prompt tokens. */
function usageToWire(usage: IRUsage): JsonObject {
  const prompt = totalPromptTokens(usage);
  return {
    prompt_tokens: prompt,
    completion_tokens: usage.outputTokens,
    total_tokens: prompt + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cacheReadTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

function stopReasonFromWire(reason: string | null | undefined): IRStopReason {
  switch (reason) {
    case 'length':
      return 'maxTokens';
    case 'tool_calls':
    case 'function_call':
      return 'toolUse';
    case 'content_filter':
      return 'contentFilter';
    default:
      return 'end';
  }
}

function stopReasonToWire(reason: IRStopReason): string {
  switch (reason) {
    case 'maxTokens':
      return 'length';
    case 'toolUse':
      return 'tool_calls';
    case 'contentFilter':
      return 'content_filter';
    default:
      // Chat has no separate reason for a stop sequence.
      return 'stop';
  }
}

/** The `error` object of OpenAI's error bodies, shared by Chat and Responses. */
export function openAiError(status: number, message: string, kind?: GatewayErrorKind): JsonObject {
  let type = status >= 500 ? 'server_error' : 'invalid_request_error';
  let code: string | null = null;
  if (kind === 'budget') code = 'budget_exceeded';
  else if (status === 401) code = 'invalid_api_key';
  else if (status === 429) {
    type = 'requests';
    code = 'rate_limit_exceeded';
  } else if (status === 503) code = 'server_overloaded';
  return { message, type, param: null, code };
}

function encodeError(status: number, message: string, kind: GatewayErrorKind, options?: EncodeErrorOptions): EncodedError {
  const clientFacing = clientStatus(kind, status, 503);
  return { status: clientFacing, headers: errorHeaders(clientFacing, options), body: { error: openAiError(clientFacing, message, kind) } };
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

function parseResponse(json: unknown, options: DecoderOptions = {}): IRResponse {
  const completion = requireObject(json, 'response');
  const choice = requireObject(requireArray(completion.choices, 'response.choices')[0], 'response.choices[0]');
  const message = requireObject(choice.message, 'response.choices[0].message');
  const prefix = options.toolCallIdPrefix ?? `call_${randomToken()}`;
  const content: IRPart[] = [];
  const reasoning = typeof message.reasoning_content === 'string' ? message.reasoning_content : message.reasoning;
  if (typeof reasoning === 'string' && reasoning) content.push({ type: 'thinking', text: reasoning, provider: 'other' });
  const text = textOfContent(message.content, 'response.choices[0].message.content');
  if (text) content.push({ type: 'text', text });
  optionalArray(message.tool_calls, 'response.choices[0].message.tool_calls').forEach((item, index) => {
    const call = requireObject(item, `response.choices[0].message.tool_calls[${index}]`);
    const fn = isObject(call.function) ? call.function : {};
    content.push({
      type: 'toolCall',
      id: typeof call.id === 'string' && call.id ? call.id : `${prefix}_${index}`,
      name: String(fn.name ?? ''),
      argumentsJson: typeof fn.arguments === 'string' ? fn.arguments : '',
    });
  });
  return {
    id: typeof completion.id === 'string' ? completion.id : '',
    model: typeof completion.model === 'string' ? completion.model : '',
    content,
    stopReason: effectiveStopReason(
      stopReasonFromWire(typeof choice.finish_reason === 'string' ? choice.finish_reason : undefined),
      content.some((part) => part.type === 'toolCall'),
    ),
    usage: usageFromWire(completion.usage),
    usageReported: isObject(completion.usage),
  };
}

function encodeResponse(response: IRResponse, meta: StreamMeta): JsonObject {
  const text = response.content
    .filter((part): part is IRPartOf<'text'> => part.type === 'text')
    .map((part) => part.text)
    .join('');
  const reasoning = response.content
    .filter((part): part is IRPartOf<'thinking'> => part.type === 'thinking' && thinkingTravelsTo(part.provider, 'other'))
    .map((part) => part.text)
    .join('');
  const toolCalls = response.content
    .filter((part): part is IRPartOf<'toolCall'> => part.type === 'toolCall')
    .map((part) => ({ id: part.id, type: 'function', function: { name: part.name, arguments: part.argumentsJson || '{}' } }));
  return {
    id: meta.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: meta.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: text || (toolCalls.length > 0 ? null : ''),
          ...(reasoning && { reasoning_content: reasoning }),
          ...(toolCalls.length > 0 && { tool_calls: toolCalls }),
          refusal: null,
        },
        logprobs: null,
        finish_reason: stopReasonToWire(response.stopReason),
      },
    ],
    usage: usageToWire(response.usage),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Streams

interface DecodedCall {
  index: number;
  id: string | undefined;
  name: string | undefined;
  started: boolean;
  ended: boolean;
  /** Arguments that arrived before the call's name. */
  pendingArguments: string;
}

class ChatStreamDecoder extends FramedStreamDecoder<SseMessage> implements StreamDecoder {
  private readonly calls = new Map<string, DecodedCall>();
  private lastCallKey: string | undefined;
  private readonly idPrefix: string;
  private started = false;
  private finishReason: string | undefined;
  private usage: unknown;

  constructor(options: DecoderOptions) {
    super(new SseParser(), 'api_error', 'The OpenAI Chat stream ended before a finish_reason.');
    this.idPrefix = options.toolCallIdPrefix ?? `call_${randomToken()}`;
  }

  protected decode(message: SseMessage, events: IREvent[]): void {
    if (message.data.trim() === '[DONE]') {
      events.push(...this.finish());
      return;
    }
    this.chunk(parseFrame(message.data, 'OpenAI Chat stream chunk'), events);
  }

  /** A server that sent its finish_reason but no [DONE] still finished. */
  protected override endedEarly(): IREvent[] {
    return this.finishReason !== undefined ? this.finish() : super.endedEarly();
  }

  private chunk(chunk: JsonObject, events: IREvent[]): void {
    if (isObject(chunk.error)) {
      this.finished = true;
      const status = typeof chunk.error.code === 'number' ? chunk.error.code : undefined;
      events.push({
        type: 'error',
        ...(status !== undefined && { status }),
        errorType: typeof chunk.error.type === 'string' ? chunk.error.type : 'server_error',
        message: typeof chunk.error.message === 'string' ? chunk.error.message : 'The OpenAI Chat stream reported an error.',
      });
      return;
    }
    if (!this.started) {
      this.started = true;
      events.push({
        type: 'start',
        id: typeof chunk.id === 'string' ? chunk.id : '',
        model: typeof chunk.model === 'string' ? chunk.model : '',
      });
    }
    if (isObject(chunk.usage)) this.usage = chunk.usage;
    const choice = Array.isArray(chunk.choices) && isObject(chunk.choices[0]) ? chunk.choices[0] : undefined;
    if (!choice) return;
    const delta = isObject(choice.delta) ? choice.delta : {};
    const reasoning = typeof delta.reasoning_content === 'string' ? delta.reasoning_content : delta.reasoning;
    if (typeof reasoning === 'string' && reasoning) events.push({ type: 'thinkingDelta', text: reasoning, provider: 'other' });
    if (typeof delta.content === 'string' && delta.content) events.push({ type: 'textDelta', text: delta.content });
    if (Array.isArray(delta.tool_calls)) {
      delta.tool_calls.forEach((item, position) => {
        if (isObject(item)) this.toolCallDelta(item, position, events);
      });
    }
    if (typeof choice.finish_reason === 'string' && choice.finish_reason) {
      this.finishReason = choice.finish_reason;
      events.push(...this.endCalls());
    }
  }

  /**
   * The call a delta belongs to: by index; a server that leaves index out (Gemini's OpenAI layer) starts a call with
   * each new id and continues the latest one otherwise.
   */
  private callFor(item: JsonObject, position: number): DecodedCall {
    const id = typeof item.id === 'string' && item.id ? item.id : undefined;
    let key: string;
    if (typeof item.index === 'number') key = `#${item.index}`;
    else if (id !== undefined) key = `id:${id}`;
    else key = this.lastCallKey ?? `position:${position}`;
    let call = this.calls.get(key);
    if (!call) {
      call = { index: this.calls.size, id: undefined, name: undefined, started: false, ended: false, pendingArguments: '' };
      this.calls.set(key, call);
    }
    this.lastCallKey = key;
    return call;
  }

  private toolCallDelta(item: JsonObject, position: number, events: IREvent[]): void {
    const call = this.callFor(item, position);
    if (call.ended) return;
    const fn = isObject(item.function) ? item.function : {};
    if (typeof item.id === 'string' && item.id && call.id === undefined) call.id = item.id;
    // Some servers repeat the name in every chunk: the first one counts.
    if (typeof fn.name === 'string' && fn.name && call.name === undefined) call.name = fn.name;
    const args = typeof fn.arguments === 'string' ? fn.arguments : '';
    if (!call.started && call.name !== undefined) {
      call.started = true;
      events.push({ type: 'toolCallStart', index: call.index, id: call.id ?? `${this.idPrefix}_${call.index}`, name: call.name });
      if (call.pendingArguments) events.push({ type: 'toolCallDelta', index: call.index, argumentsJsonDelta: call.pendingArguments });
      call.pendingArguments = '';
    }
    if (!args) return;
    if (call.started) events.push({ type: 'toolCallDelta', index: call.index, argumentsJsonDelta: args });
    else call.pendingArguments += args;
  }

  private endCalls(): IREvent[] {
    const events: IREvent[] = [];
    for (const call of this.calls.values()) {
      if (call.started && !call.ended) events.push({ type: 'toolCallEnd', index: call.index });
      call.ended = true;
    }
    return events;
  }

  private finish(): IREvent[] {
    this.finished = true;
    const events = this.endCalls();
    if (this.usage !== undefined) events.push({ type: 'usage', usage: usageFromWire(this.usage) });
    const calledTools = [...this.calls.values()].some((call) => call.started);
    events.push({ type: 'stop', reason: effectiveStopReason(stopReasonFromWire(this.finishReason), calledTools) });
    return events;
  }
}

class ChatStreamEncoder implements StreamEncoder {
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly toolIndexes = new Map<number, number>();
  private started = false;
  private usage: IRUsage | undefined;
  private stop: IRStopReason | undefined;
  private closed = false;

  constructor(private readonly meta: StreamMeta) {}

  encode(event: IREvent): string {
    if (this.closed) return '';
    switch (event.type) {
      case 'start':
        return this.begin();
      case 'textDelta':
        return event.text ? this.begin() + this.chunk({ content: event.text }) : '';
      case 'thinkingDelta':
        return thinkingTravelsTo(event.provider, 'other') && event.text ? this.begin() + this.chunk({ reasoning_content: event.text }) : '';
      case 'toolCallStart': {
        const index = this.toolIndexes.size;
        this.toolIndexes.set(event.index, index);
        return (
          this.begin() +
          this.chunk({ tool_calls: [{ index, id: event.id, type: 'function', function: { name: event.name, arguments: '' } }] })
        );
      }
      case 'toolCallDelta': {
        const index = this.toolIndexes.get(event.index);
        if (index === undefined || !event.argumentsJsonDelta) return '';
        return this.chunk({ tool_calls: [{ index, function: { arguments: event.argumentsJsonDelta } }] });
      }
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'stop':
        this.stop = event.reason;
        return '';
      case 'error': {
        this.closed = true;
        const status = event.status ?? (event.errorType.includes('rate_limit') ? 429 : 500);
        return sseFrame(undefined, { error: { ...openAiError(status, event.message), type: event.errorType } });
      }
      default:
        return '';
    }
  }

  end(): string {
    if (this.closed) return '';
    this.closed = true;
    const reason = effectiveStopReason(this.stop, this.toolIndexes.size > 0);
    let out = this.begin() + this.chunk({}, stopReasonToWire(reason));
    if (this.meta.includeUsage !== false) {
      out += sseFrame(undefined, {
        id: this.meta.id,
        object: 'chat.completion.chunk',
        created: this.created,
        model: this.meta.model,
        choices: [],
        usage: usageToWire(this.usage ?? zeroUsage()),
      });
    }
    return `${out}data: [DONE]\n\n`;
  }

  private begin(): string {
    if (this.started) return '';
    this.started = true;
    return this.chunk({ role: 'assistant', content: '' });
  }

  private chunk(delta: JsonObject, finishReason: string | null = null): string {
    return sseFrame(undefined, {
      id: this.meta.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.meta.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    });
  }
}

export const openAiChatCodec: ProtocolCodec = {
  protocol: 'openaiChat',
  streamContentType: 'text/event-stream',
  parseRequest,
  buildRequest,
  createStreamDecoder: (options = {}) => new ChatStreamDecoder(options),
  createStreamEncoder: (meta) => new ChatStreamEncoder(meta),
  parseResponse,
  encodeResponse,
  encodeError,
  usageFromWire,
  usageToWire,
  stopReasonFromWire,
  stopReasonToWire,
};
