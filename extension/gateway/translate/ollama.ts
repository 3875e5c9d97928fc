/** Ollama's native chat API (`POST /api/chat`): newline-delimited JSON, tool arguments as objects, no call ids. */
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
  tokenCount,
  type JsonObject,
} from './fields';
import { FramedStreamDecoder, ndjsonLine, NdjsonParser, parseFrame } from './framing';
import {
  argumentsObject,
  effectiveStopReason,
  randomToken,
  systemText,
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
  type IRUsage,
  type JsonSchema,
  type ProtocolCodec,
  type StreamDecoder,
  type StreamEncoder,
  type StreamMeta,
} from './ir';
import { TOOL_ERROR_PREFIX } from './openaiChat';

const CHAT_PATH = '/api/chat';

/**
 * `options` is read (num_predict, temperature, top_p, stop) and also kept: num_ctx, seed and the rest go back to
 * Ollama. So is `think`: its levels ("high") only mean something to some Ollama models, other protocols get a boolean.
 */
const READ_FIELDS = ['model', 'messages', 'tools', 'stream', 'format'] as const;

// ---------------------------------------------------------------------------------------------------------------
// Requests

/** Ollama images are bare base64; the media type is read from the first bytes. */
export function sniffImageMediaType(dataBase64: string): string {
  if (dataBase64.startsWith('/9j/')) return 'image/jpeg';
  if (dataBase64.startsWith('R0lGOD')) return 'image/gif';
  if (dataBase64.startsWith('UklGR')) return 'image/webp';
  return 'image/png';
}

function parseImages(value: unknown, field: string): IRPart[] {
  return optionalArray(value, field).map((item, index) => {
    const dataBase64 = requireString(item, `${field}[${index}]`);
    return { type: 'image' as const, mediaType: sniffImageMediaType(dataBase64), dataBase64 };
  });
}

function argumentsJsonOf(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? {});
}

/**
 * Ollama has no tool call ids (newer servers add optional ones). Calls without one get `call_<message>_<n>`, which is
 * stable across requests so that prompt caches upstream keep matching; results find their call by id, then by
 * tool_name, then by order.
 */
function parseMessages(value: unknown): { system: IRSystemBlock[]; messages: IRMessage[] } {
  const system: IRSystemBlock[] = [];
  const messages: IRMessage[] = [];
  let unanswered: Array<{ id: string; name: string }> = [];
  requireArray(value, 'messages').forEach((item, index) => {
    const field = `messages[${index}]`;
    const message = requireObject(item, field);
    const content = optionalString(message.content, `${field}.content`) ?? '';
    switch (message.role) {
      case 'system':
        if (messages.length === 0) system.push({ text: content });
        else messages.push({ role: 'user', content: [{ type: 'text', text: content }], instruction: 'system' });
        break;
      case 'user':
        messages.push({
          role: 'user',
          content: [...(content ? [{ type: 'text' as const, text: content }] : []), ...parseImages(message.images, `${field}.images`)],
        });
        break;
      case 'assistant': {
        const parts: IRPart[] = [];
        if (typeof message.thinking === 'string' && message.thinking) {
          parts.push({ type: 'thinking', text: message.thinking, provider: 'other' });
        }
        if (content) parts.push({ type: 'text', text: content });
        unanswered = [];
        optionalArray(message.tool_calls, `${field}.tool_calls`).forEach((value, callIndex) => {
          const call = requireObject(value, `${field}.tool_calls[${callIndex}]`);
          const fn = requireObject(call.function, `${field}.tool_calls[${callIndex}].function`);
          const id = typeof call.id === 'string' && call.id ? call.id : `call_${index}_${callIndex}`;
          const name = requireNonEmptyString(fn.name, `${field}.tool_calls[${callIndex}].function.name`);
          unanswered.push({ id, name });
          parts.push({ type: 'toolCall', id, name, argumentsJson: argumentsJsonOf(fn.arguments) });
        });
        messages.push({ role: 'assistant', content: parts });
        break;
      }
      case 'tool': {
        const byId = optionalString(message.tool_call_id, `${field}.tool_call_id`);
        const byName = optionalString(message.tool_name, `${field}.tool_name`);
        let position: number;
        if (byId !== undefined) position = unanswered.findIndex((call) => call.id === byId);
        else {
          position = byName !== undefined ? unanswered.findIndex((call) => call.name === byName) : -1;
          if (position < 0) position = 0;
        }
        const matched = position >= 0 ? unanswered[position] : undefined;
        if (matched) unanswered.splice(position, 1);
        const result: IRPart = {
          type: 'toolResult',
          toolCallId: byId ?? matched?.id ?? `call_unmatched_${index}`,
          content:
            message.images === undefined
              ? content
              : [{ type: 'text', text: content }, ...parseImages(message.images, `${field}.images`)],
        };
        const previous = messages.at(-1);
        if (previous?.role === 'user' && !previous.instruction && previous.content.every((part) => part.type === 'toolResult')) {
          previous.content.push(result);
        } else {
          messages.push({ role: 'user', content: [result] });
        }
        break;
      }
      default:
        throw new TranslationError(`${field}.role`, `expected system, user, assistant or tool, got ${JSON.stringify(message.role)}`);
    }
  });
  return { system, messages };
}

function parametersSchema(value: unknown, field: string): JsonSchema {
  return value === undefined || value === null ? { type: 'object', properties: {} } : requireObject(value, field);
}

function ollamaToolCall(call: IRPartOf<'toolCall'>, index: number): JsonObject {
  return { id: call.id, function: { index, name: call.name, arguments: argumentsObject(call.argumentsJson) } };
}

function parseTool(value: unknown, field: string): IRTool {
  const tool = requireObject(value, field);
  const fn = requireObject(tool.function, `${field}.function`);
  const description = optionalString(fn.description, `${field}.function.description`);
  return {
    name: requireNonEmptyString(fn.name, `${field}.function.name`),
    ...(description !== undefined && { description }),
    inputSchema: parametersSchema(fn.parameters, `${field}.function.parameters`),
    source: { protocol: 'ollama', definition: tool },
  };
}

function parseThinking(value: unknown): IRRequest['thinking'] {
  if (value === true) return {};
  if (value === 'low' || value === 'medium' || value === 'high') return { effort: value };
  if (value === undefined || value === null || value === false) return undefined;
  throw new TranslationError('think', `expected true, false, "low", "medium" or "high", got ${JSON.stringify(value)}`);
}

function parseRequest(body: unknown): IRRequest {
  const request = requireObject(body, 'body');
  const { system, messages } = parseMessages(request.messages);
  const options = request.options === undefined || request.options === null ? {} : requireObject(request.options, 'options');
  const maxOutputTokens = optionalPositiveInteger(options.num_predict === -1 ? undefined : options.num_predict, 'options.num_predict');
  const temperature = optionalNumber(options.temperature, 'options.temperature');
  const topP = optionalNumber(options.top_p, 'options.top_p');
  const stop = optionalStringList(options.stop, 'options.stop');
  const thinking = parseThinking(request.think);
  const format = request.format;
  const responseFormat: IRRequest['responseFormat'] =
    format === 'json' ? { type: 'json_object' } : isObject(format) ? { type: 'json_schema', schema: format } : undefined;
  const extensionFields = unreadFields(request, READ_FIELDS);
  return {
    model: requireNonEmptyString(request.model, 'model'),
    system,
    messages,
    tools: optionalArray(request.tools, 'tools').map((tool, index) => parseTool(tool, `tools[${index}]`)),
    ...(maxOutputTokens !== undefined && { maxOutputTokens }),
    ...(temperature !== undefined && { temperature }),
    ...(topP !== undefined && { topP }),
    ...(stop !== undefined && { stop }),
    // Ollama streams unless told not to.
    stream: optionalBoolean(request.stream, 'stream') ?? true,
    ...(thinking && { thinking }),
    ...(responseFormat && { responseFormat }),
    metadata: {},
    ...(extensionFields && { extensions: { protocol: 'ollama' as const, fields: extensionFields } }),
  };
}

function imagesOf(parts: IRPart[], field: string): string[] {
  const images: string[] = [];
  parts.forEach((part, index) => {
    if (part.type === 'image') images.push(part.dataBase64);
    if (part.type === 'imageUrl') {
      throw new TranslationError(`${field}[${index}]`, 'Ollama takes images as base64 data only, not by URL');
    }
  });
  return images;
}

function rejectOpaque(parts: IRPart[], field: string): void {
  parts.forEach((part, index) => {
    if (part.type === 'opaque' && part.protocol !== 'ollama' && part.onCross === 'reject') {
      throw new TranslationError(`${field}[${index}]`, `${part.what} cannot be sent to an Ollama model`);
    }
  });
}

function textOfParts(parts: IRPart[]): string {
  return parts
    .filter((part): part is IRPartOf<'text'> => part.type === 'text')
    .map((part) => part.text)
    .join('\n\n');
}

function buildMessages(ir: IRRequest): JsonObject[] {
  const messages: JsonObject[] = ir.system.length > 0 ? [{ role: 'system', content: systemText(ir.system) }] : [];
  const toolNames = new Map<string, string>();
  ir.messages.forEach((message, messageIndex) => {
    const field = `messages[${messageIndex}].content`;
    rejectOpaque(message.content, field);
    if (message.role === 'assistant') {
      const calls = message.content.filter((part): part is IRPartOf<'toolCall'> => part.type === 'toolCall');
      for (const call of calls) toolNames.set(call.id, call.name);
      const content = message.content
        .filter((part): part is IRPartOf<'text'> => part.type === 'text')
        .map((part) => part.text)
        .join('');
      if (!content && calls.length === 0) return;
      messages.push({
        role: 'assistant',
        content,
        ...(calls.length > 0 && {
          tool_calls: calls.map(ollamaToolCall),
        }),
      });
      return;
    }
    const rest: IRPart[] = [];
    message.content.forEach((part, index) => {
      if (part.type !== 'toolResult') {
        rest.push(part);
        return;
      }
      const images = typeof part.content === 'string' ? [] : imagesOf(part.content, `${field}[${index}].content`);
      if (typeof part.content !== 'string') rejectOpaque(part.content, `${field}[${index}].content`);
      messages.push(
        compact({
          role: 'tool',
          content: (part.isError ? TOOL_ERROR_PREFIX : '') + toolResultText(part.content),
          images: images.length > 0 ? images : undefined,
          tool_name: toolNames.get(part.toolCallId),
          tool_call_id: part.toolCallId,
        }),
      );
    });
    const content = textOfParts(rest);
    const images = imagesOf(rest, field);
    if (!content && images.length === 0) return;
    messages.push({ role: message.instruction ? 'system' : 'user', content, ...(images.length > 0 && { images }) });
  });
  return messages;
}

function buildTool(tool: IRTool): JsonObject | undefined {
  if (tool.source?.protocol === 'ollama') return tool.source.definition as JsonObject;
  if (tool.providerHosted) return undefined;
  return {
    type: 'function',
    function: { name: tool.name, ...(tool.description !== undefined && { description: tool.description }), parameters: tool.inputSchema },
  };
}

function buildRequest(request: IRRequest, options: BuildRequestOptions = {}): { path: string; body: JsonObject } {
  const ir = withBuildOptions(request, options);
  const extensions = { ...(ir.extensions?.protocol === 'ollama' ? ir.extensions.fields : {}) };
  if (options.reasoning === false) delete extensions.think;
  // Ollama has no tool_choice: "none" sends no tools; "required" and a named tool cannot be enforced.
  const tools = ir.toolChoice === 'none' ? [] : ir.tools.map(buildTool).filter((tool): tool is JsonObject => tool !== undefined);
  const modelOptions = compact({
    ...(isObject(extensions.options) ? extensions.options : {}),
    num_predict: ir.maxOutputTokens,
    temperature: ir.temperature,
    top_p: ir.topP,
    stop: ir.stop && ir.stop.length > 0 ? ir.stop : undefined,
  });
  const format = ir.responseFormat ? (ir.responseFormat.type === 'json_object' ? 'json' : ir.responseFormat.schema) : undefined;
  const think = ir.thinking ? (typeof extensions.think === 'string' ? extensions.think : true) : undefined;
  const body: JsonObject = compact({
    model: ir.model,
    messages: buildMessages(ir),
    tools: tools.length > 0 ? tools : undefined,
    stream: ir.stream,
    format,
    think,
    options: Object.keys(modelOptions).length > 0 ? modelOptions : undefined,
  });
  for (const [key, value] of Object.entries(extensions)) if (!(key in body)) body[key] = value;
  return { path: CHAT_PATH, body };
}

// ---------------------------------------------------------------------------------------------------------------
// Usage, stop reasons and errors

/** Ollama reports the whole prompt and the whole output; it has no cache or reasoning breakdown. */
function usageFromWire(usage: unknown): IRUsage {
  if (!isObject(usage)) return zeroUsage();
  return { ...zeroUsage(), inputTokens: tokenCount(usage.prompt_eval_count), outputTokens: tokenCount(usage.eval_count) };
}

function usageToWire(usage: IRUsage): JsonObject {
  return { prompt_eval_count: totalPromptTokens(usage), eval_count: usage.outputTokens };
}

function stopReasonFromWire(reason: string | null | undefined): IRStopReason {
  return reason === 'length' ? 'maxTokens' : 'end';
}

/** Ollama says "stop" for a finished answer, tool calls included; "length" when it hit num_predict. */
function stopReasonToWire(reason: IRStopReason): string {
  return reason === 'maxTokens' ? 'length' : 'stop';
}

function encodeError(status: number, message: string, kind: GatewayErrorKind, options?: EncodeErrorOptions): EncodedError {
  const clientFacing = clientStatus(kind, status, 503);
  return { status: clientFacing, headers: errorHeaders(clientFacing, options), body: { error: message } };
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

function finalFields(usage: IRUsage, reason: IRStopReason): JsonObject {
  return {
    done: true,
    done_reason: stopReasonToWire(reason),
    total_duration: 0,
    load_duration: 0,
    prompt_eval_count: totalPromptTokens(usage),
    prompt_eval_duration: 0,
    eval_count: usage.outputTokens,
    eval_duration: 0,
  };
}

function parseResponse(json: unknown, options: DecoderOptions = {}): IRResponse {
  const response = requireObject(json, 'response');
  const message = isObject(response.message) ? response.message : {};
  const prefix = options.toolCallIdPrefix ?? `call_${randomToken()}`;
  const content: IRPart[] = [];
  if (typeof message.thinking === 'string' && message.thinking) {
    content.push({ type: 'thinking', text: message.thinking, provider: 'other' });
  }
  if (typeof message.content === 'string' && message.content) content.push({ type: 'text', text: message.content });
  (Array.isArray(message.tool_calls) ? message.tool_calls : []).forEach((value, index) => {
    const call = isObject(value) ? value : {};
    const fn = isObject(call.function) ? call.function : {};
    content.push({
      type: 'toolCall',
      id: typeof call.id === 'string' && call.id ? call.id : `${prefix}_${index}`,
      name: String(fn.name ?? ''),
      argumentsJson: argumentsJsonOf(fn.arguments),
    });
  });
  return {
    id: '',
    model: typeof response.model === 'string' ? response.model : '',
    content,
    stopReason: effectiveStopReason(
      stopReasonFromWire(typeof response.done_reason === 'string' ? response.done_reason : undefined),
      content.some((part) => part.type === 'toolCall'),
    ),
    usage: usageFromWire(response),
    usageReported: response.eval_count !== undefined || response.prompt_eval_count !== undefined,
  };
}

function encodeResponse(response: IRResponse, meta: StreamMeta): JsonObject {
  const calls = response.content.filter((part): part is IRPartOf<'toolCall'> => part.type === 'toolCall');
  const thinking = response.content
    .filter((part): part is IRPartOf<'thinking'> => part.type === 'thinking' && thinkingTravelsTo(part.provider, 'other'))
    .map((part) => part.text)
    .join('');
  return {
    model: meta.model,
    created_at: new Date().toISOString(),
    message: {
      role: 'assistant',
      content: response.content
        .filter((part): part is IRPartOf<'text'> => part.type === 'text')
        .map((part) => part.text)
        .join(''),
      ...(thinking && { thinking }),
      ...(calls.length > 0 && {
        tool_calls: calls.map(ollamaToolCall),
      }),
    },
    ...finalFields(response.usage, response.stopReason),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Streams

class OllamaStreamDecoder extends FramedStreamDecoder<string> implements StreamDecoder {
  private readonly idPrefix: string;
  private started = false;
  private nextToolIndex = 0;

  constructor(options: DecoderOptions) {
    super(new NdjsonParser(), 'api_error', 'The Ollama stream ended before its final "done" line.');
    this.idPrefix = options.toolCallIdPrefix ?? `call_${randomToken()}`;
  }

  protected decode(line: string, events: IREvent[]): void {
    this.line(parseFrame(line, 'Ollama stream line'), events);
  }

  private line(chunk: JsonObject, events: IREvent[]): void {
    if (chunk.error !== undefined) {
      this.finished = true;
      events.push({ type: 'error', errorType: 'api_error', message: String(isObject(chunk.error) ? chunk.error.message : chunk.error) });
      return;
    }
    if (!this.started) {
      this.started = true;
      events.push({ type: 'start', id: `ollama-${randomToken()}`, model: typeof chunk.model === 'string' ? chunk.model : '' });
    }
    const message = isObject(chunk.message) ? chunk.message : {};
    if (typeof message.thinking === 'string' && message.thinking) {
      events.push({ type: 'thinkingDelta', text: message.thinking, provider: 'other' });
    }
    if (typeof message.content === 'string' && message.content) events.push({ type: 'textDelta', text: message.content });
    // Ollama sends each tool call whole, in one line.
    for (const value of Array.isArray(message.tool_calls) ? message.tool_calls : []) {
      const call = isObject(value) ? value : {};
      const fn = isObject(call.function) ? call.function : {};
      const index = this.nextToolIndex++;
      const id = typeof call.id === 'string' && call.id ? call.id : `${this.idPrefix}_${index}`;
      events.push({ type: 'toolCallStart', index, id, name: String(fn.name ?? '') });
      events.push({ type: 'toolCallDelta', index, argumentsJsonDelta: argumentsJsonOf(fn.arguments) });
      events.push({ type: 'toolCallEnd', index });
    }
    if (chunk.done === true) {
      this.finished = true;
      events.push({ type: 'usage', usage: usageFromWire(chunk) });
      const reason = stopReasonFromWire(typeof chunk.done_reason === 'string' ? chunk.done_reason : undefined);
      events.push({ type: 'stop', reason: effectiveStopReason(reason, this.nextToolIndex > 0) });
    }
  }
}

interface BufferedCall {
  id: string;
  name: string;
  args: string;
}

class OllamaStreamEncoder implements StreamEncoder {
  private readonly calls = new Map<number, BufferedCall>();
  private emittedCalls = 0;
  private usage: IRUsage | undefined;
  private stop: IRStopReason | undefined;
  private closed = false;

  constructor(private readonly meta: StreamMeta) {}

  encode(event: IREvent): string {
    if (this.closed) return '';
    switch (event.type) {
      case 'textDelta':
        return event.text ? this.line({ role: 'assistant', content: event.text }) : '';
      case 'thinkingDelta':
        if (!thinkingTravelsTo(event.provider, 'other') || !event.text) return '';
        return this.line({ role: 'assistant', content: '', thinking: event.text });
      case 'toolCallStart':
        this.calls.set(event.index, { id: event.id, name: event.name, args: '' });
        return '';
      case 'toolCallDelta': {
        const call = this.calls.get(event.index);
        if (call) call.args += event.argumentsJsonDelta;
        return '';
      }
      case 'toolCallEnd':
        return this.flushCall(event.index);
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'stop':
        this.stop = event.reason;
        return '';
      case 'error':
        this.closed = true;
        return ndjsonLine({ error: event.message });
      default:
        return '';
    }
  }

  end(): string {
    if (this.closed) return '';
    let out = '';
    for (const index of [...this.calls.keys()]) out += this.flushCall(index);
    this.closed = true;
    const reason = effectiveStopReason(this.stop, this.emittedCalls > 0);
    return (
      out +
      ndjsonLine({
        model: this.meta.model,
        created_at: new Date().toISOString(),
        message: { role: 'assistant', content: '' },
        ...finalFields(this.usage ?? zeroUsage(), reason),
      })
    );
  }

  /** Ollama clients expect whole calls with object arguments, so a call is written when its arguments are complete. */
  private flushCall(index: number): string {
    const call = this.calls.get(index);
    if (!call) return '';
    this.calls.delete(index);
    const callIndex = this.emittedCalls++;
    return this.line({
      role: 'assistant',
      content: '',
      tool_calls: [{ id: call.id, function: { index: callIndex, name: call.name, arguments: argumentsObject(call.args) } }],
    });
  }

  private line(message: JsonObject): string {
    return ndjsonLine({ model: this.meta.model, created_at: new Date().toISOString(), message, done: false });
  }
}

export const ollamaCodec: ProtocolCodec = {
  protocol: 'ollama',
  streamContentType: 'application/x-ndjson',
  parseRequest,
  buildRequest,
  createStreamDecoder: (options = {}) => new OllamaStreamDecoder(options),
  createStreamEncoder: (meta) => new OllamaStreamEncoder(meta),
  parseResponse,
  encodeResponse,
  encodeError,
  usageFromWire,
  usageToWire,
  stopReasonFromWire,
  stopReasonToWire,
};
