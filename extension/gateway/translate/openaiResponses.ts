/** OpenAI Responses API (`POST /v1/responses`): what Codex speaks. */
import {
  clientStatus,
  errorHeaders,
  TranslationError,
  UpstreamReportedError,
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
  thinkingEffort,
  thinkingTravelsTo,
  toolResultText,
  totalPromptTokens,
  withBuildOptions,
  zeroUsage,
  type BuildRequestOptions,
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
  type ProtocolCodec,
  type StreamDecoder,
  type StreamEncoder,
  type StreamMeta,
} from './ir';
import { openAiError, parametersSchema, parseEffort, TOOL_ERROR_PREFIX } from './openaiChat';
import { BlockSequencer } from './sequence';

const RESPONSES_PATH = '/v1/responses';

/** `reasoning` and `text` are read and also kept: their other settings (summary, verbosity) go back to OpenAI. */
const READ_FIELDS = [
  'model',
  'input',
  'instructions',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'max_output_tokens',
  'temperature',
  'top_p',
  'stream',
  'prompt_cache_key',
  'user',
] as const;

// ---------------------------------------------------------------------------------------------------------------
// Requests

function parseInputContent(value: unknown, field: string): IRPart[] {
  if (typeof value === 'string') return [{ type: 'text', text: value }];
  return requireArray(value, field).map((item, index): IRPart => {
    const part = requireObject(item, `${field}[${index}]`);
    switch (part.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        return { type: 'text', text: requireString(part.text, `${field}[${index}].text`) };
      case 'refusal':
        return { type: 'text', text: requireString(part.refusal, `${field}[${index}].refusal`) };
      case 'input_image': {
        const url = optionalString(part.image_url, `${field}[${index}].image_url`);
        if (url === undefined) {
          return { type: 'opaque', protocol: 'openaiResponses', what: 'an image given by file_id', value: part, onCross: 'reject' };
        }
        const data = parseDataUrl(url);
        return data ? { type: 'image', ...data } : { type: 'imageUrl', url };
      }
      default:
        return {
          type: 'opaque',
          protocol: 'openaiResponses',
          what: `a "${String(part.type)}" content part`,
          value: part,
          onCross: 'reject',
        };
    }
  });
}

function textOf(parts: IRPart[]): string {
  return parts.map((part) => (part.type === 'text' ? part.text : '')).join('');
}

function parseToolOutput(value: unknown, field: string): string | IRPart[] {
  if (typeof value === 'string') return value;
  return parseInputContent(value, field);
}

/** Responses items are granular: one assistant turn is a run of reasoning, message and call items. */
function parseInput(input: unknown, system: IRSystemBlock[]): IRMessage[] {
  const messages: IRMessage[] = [];
  const append = (role: 'user' | 'assistant', part: IRPart): void => {
    const last = messages.at(-1);
    // Assistant items join the assistant turn before them; tool outputs join a run of tool outputs.
    const joins =
      last?.role === role &&
      !last.instruction &&
      (role === 'assistant' || (part.type === 'toolResult' && last.content.every((p) => p.type === 'toolResult')));
    if (joins) last.content.push(part);
    else messages.push({ role, content: [part] });
  };
  if (typeof input === 'string') return [{ role: 'user', content: [{ type: 'text', text: input }] }];
  requireArray(input, 'input').forEach((value, index) => {
    const field = `input[${index}]`;
    const item = requireObject(value, field);
    const type = item.type ?? (item.role !== undefined ? 'message' : undefined);
    switch (type) {
      case 'message': {
        const role = item.role;
        if (role === 'system' || role === 'developer') {
          const text = textOf(parseInputContent(item.content, `${field}.content`));
          if (messages.length === 0) system.push({ text, role });
          else messages.push({ role: 'user', content: [{ type: 'text', text }], instruction: role });
        } else if (role === 'user') {
          messages.push({ role: 'user', content: parseInputContent(item.content, `${field}.content`) });
        } else if (role === 'assistant') {
          for (const part of parseInputContent(item.content, `${field}.content`)) append('assistant', part);
        } else {
          throw new TranslationError(`${field}.role`, `expected system, developer, user or assistant, got ${JSON.stringify(role)}`);
        }
        break;
      }
      case 'reasoning': {
        const summary = optionalArray(item.summary, `${field}.summary`)
          .map((entry) => (isObject(entry) && typeof entry.text === 'string' ? entry.text : ''))
          .join('\n\n');
        const encrypted = optionalString(item.encrypted_content, `${field}.encrypted_content`);
        append('assistant', {
          type: 'thinking',
          text: summary,
          ...(encrypted !== undefined && { signature: encrypted }),
          provider: 'openai',
          native: item,
        });
        break;
      }
      case 'function_call':
        append('assistant', {
          type: 'toolCall',
          id: requireNonEmptyString(item.call_id, `${field}.call_id`),
          name: requireNonEmptyString(item.name, `${field}.name`),
          argumentsJson: optionalString(item.arguments, `${field}.arguments`) ?? '',
        });
        break;
      case 'custom_tool_call':
        append('assistant', {
          type: 'toolCall',
          id: requireNonEmptyString(item.call_id, `${field}.call_id`),
          name: requireNonEmptyString(item.name, `${field}.name`),
          argumentsJson: JSON.stringify({ input: optionalString(item.input, `${field}.input`) ?? '' }),
          freeform: true,
        });
        break;
      case 'function_call_output':
      case 'custom_tool_call_output':
        append('user', {
          type: 'toolResult',
          toolCallId: requireNonEmptyString(item.call_id, `${field}.call_id`),
          content: parseToolOutput(item.output ?? '', `${field}.output`),
        });
        break;
      default: {
        // Built-in tools' calls and outputs (local_shell, web_search…), item references, compaction: OpenAI only.
        const what = `a "${String(type)}" input item`;
        const isOutput = typeof type === 'string' && type.endsWith('_output');
        append(isOutput ? 'user' : 'assistant', { type: 'opaque', protocol: 'openaiResponses', what, value: item, onCross: 'drop' });
      }
    }
  });
  return messages;
}

function freeformSchema(tool: JsonObject): JsonObject {
  const format = isObject(tool.format) ? tool.format : {};
  const grammar =
    format.type === 'grammar' && typeof format.definition === 'string'
      ? ` It must match this ${String(format.syntax ?? '')} grammar:\n${format.definition}`
      : '';
  return {
    type: 'object',
    properties: { input: { type: 'string', description: `The raw text input of the tool.${grammar}` } },
    required: ['input'],
    additionalProperties: false,
  };
}

function parseTool(value: unknown, field: string): IRTool {
  const tool = requireObject(value, field);
  const source = { protocol: 'openaiResponses' as const, definition: tool };
  const description = optionalString(tool.description, `${field}.description`);
  if (tool.type === 'function') {
    const strict = optionalBoolean(tool.strict, `${field}.strict`);
    return {
      name: requireNonEmptyString(tool.name, `${field}.name`),
      ...(description !== undefined && { description }),
      inputSchema: parametersSchema(tool.parameters, `${field}.parameters`),
      ...(strict !== undefined && { strict }),
      source,
    };
  }
  if (tool.type === 'custom') {
    return {
      name: requireNonEmptyString(tool.name, `${field}.name`),
      ...(description !== undefined && { description }),
      inputSchema: freeformSchema(tool),
      freeform: true,
      source,
    };
  }
  return { name: String(tool.name ?? tool.type), inputSchema: {}, providerHosted: true, source };
}

function parseToolChoice(value: unknown): IRToolChoice | undefined {
  if (value === undefined || value === null) return undefined;
  if (value === 'auto' || value === 'none' || value === 'required') return value;
  const choice = requireObject(value, 'tool_choice');
  if (choice.type === 'function' || choice.type === 'custom') return { name: requireNonEmptyString(choice.name, 'tool_choice.name') };
  return 'auto';
}

function parseResponseFormat(text: unknown): IRRequest['responseFormat'] {
  if (!isObject(text) || !isObject(text.format)) return undefined;
  const format = text.format;
  if (format.type === 'json_object') return { type: 'json_object' };
  if (format.type !== 'json_schema') return undefined;
  const name = optionalString(format.name, 'text.format.name');
  const strict = optionalBoolean(format.strict, 'text.format.strict');
  return {
    type: 'json_schema',
    schema: requireObject(format.schema, 'text.format.schema'),
    ...(name !== undefined && { name }),
    ...(strict !== undefined && { strict }),
  };
}

function parseRequest(body: unknown): IRRequest {
  const request = requireObject(body, 'body');
  const system: IRSystemBlock[] = [];
  const instructions = optionalString(request.instructions, 'instructions');
  if (instructions) system.push({ text: instructions });
  const messages = parseInput(request.input, system);
  const toolChoice = parseToolChoice(request.tool_choice);
  const parallelToolCalls = optionalBoolean(request.parallel_tool_calls, 'parallel_tool_calls');
  const maxOutputTokens = optionalPositiveInteger(request.max_output_tokens, 'max_output_tokens');
  const temperature = optionalNumber(request.temperature, 'temperature');
  const topP = optionalNumber(request.top_p, 'top_p');
  const effort = isObject(request.reasoning) ? parseEffort(request.reasoning.effort, 'reasoning.effort') : undefined;
  const responseFormat = parseResponseFormat(request.text);
  const promptCacheKey = optionalString(request.prompt_cache_key, 'prompt_cache_key');
  const user = optionalString(request.user, 'user');
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
    stream: optionalBoolean(request.stream, 'stream') ?? false,
    ...(effort !== undefined && { thinking: { effort } }),
    ...(responseFormat && { responseFormat }),
    metadata: { ...(promptCacheKey !== undefined && { promptCacheKey }), ...(user !== undefined && { user }) },
    ...(extensionFields && { extensions: { protocol: 'openaiResponses' as const, fields: extensionFields } }),
  };
}

function inputContentPart(part: IRPart, field: string): JsonObject | undefined {
  switch (part.type) {
    case 'text':
      return part.text ? { type: 'input_text', text: part.text } : undefined;
    case 'image':
      return { type: 'input_image', image_url: dataUrl(part.mediaType, part.dataBase64), detail: 'auto' };
    case 'imageUrl':
      return { type: 'input_image', image_url: part.url, detail: 'auto' };
    case 'opaque':
      if (part.protocol === 'openaiResponses') return part.value as JsonObject;
      if (part.onCross === 'drop') return undefined;
      throw new TranslationError(field, `${part.what} cannot be sent to an OpenAI Responses model`);
    default:
      return undefined;
  }
}

function reasoningItem(part: IRPartOf<'thinking'>): JsonObject | undefined {
  if (!thinkingTravelsTo(part.provider, 'openai')) return undefined;
  if (isObject(part.native) && part.native.type === 'reasoning') return part.native;
  // Without encrypted content a reasoning item only resolves against stored responses, which this gateway never uses.
  if (part.signature === undefined) return undefined;
  const id = isObject(part.native) && typeof part.native.id === 'string' ? part.native.id : undefined;
  return compact({
    type: 'reasoning',
    id,
    summary: part.text ? [{ type: 'summary_text', text: part.text }] : [],
    encrypted_content: part.signature,
  });
}

function buildInput(ir: IRRequest): JsonObject[] {
  const items: JsonObject[] = [];
  for (const block of ir.system) {
    if (block.role !== undefined) items.push({ type: 'message', role: block.role, content: [{ type: 'input_text', text: block.text }] });
  }
  const freeformCalls = new Set<string>();
  for (const message of ir.messages) {
    for (const part of message.content) if (part.type === 'toolCall' && part.freeform) freeformCalls.add(part.id);
  }
  ir.messages.forEach((message, messageIndex) => {
    const field = `messages[${messageIndex}]`;
    let pending: JsonObject[] = [];
    const flush = (): void => {
      if (pending.length === 0) return;
      if (message.role === 'assistant') {
        items.push({ type: 'message', role: 'assistant', content: pending.map((part) => ({ type: 'output_text', text: part.text })) });
      } else {
        items.push({ type: 'message', role: message.instruction ?? 'user', content: pending });
      }
      pending = [];
    };
    message.content.forEach((part, partIndex) => {
      const partField = `${field}.content[${partIndex}]`;
      switch (part.type) {
        case 'toolCall':
          flush();
          items.push(
            part.freeform
              ? { type: 'custom_tool_call', call_id: part.id, name: part.name, input: freeformInput(part.argumentsJson) }
              : { type: 'function_call', call_id: part.id, name: part.name, arguments: part.argumentsJson || '{}' },
          );
          break;
        case 'toolResult': {
          flush();
          const prefix = part.isError ? TOOL_ERROR_PREFIX : '';
          // Text-only output travels as a string, the form every Responses server accepts.
          const content = part.content;
          const output =
            typeof content === 'string' || content.every((inner) => inner.type === 'text')
              ? prefix + toolResultText(content)
              : [
                  ...(prefix ? [{ type: 'input_text', text: prefix }] : []),
                  ...content
                    .map((inner, innerIndex) => inputContentPart(inner, `${partField}.content[${innerIndex}]`))
                    .filter((inner): inner is JsonObject => inner !== undefined),
                ];
          const type = freeformCalls.has(part.toolCallId) ? 'custom_tool_call_output' : 'function_call_output';
          items.push({ type, call_id: part.toolCallId, output });
          break;
        }
        case 'thinking': {
          flush();
          const item = reasoningItem(part);
          if (item) items.push(item);
          break;
        }
        case 'opaque':
          if (part.protocol === 'openaiResponses' && isInputItem(part.value)) {
            flush();
            items.push(part.value);
          } else {
            const built = inputContentPart(part, partField);
            if (built) pending.push(built);
          }
          break;
        default: {
          const built = inputContentPart(part, partField);
          if (built) pending.push(built);
        }
      }
    });
    flush();
  });
  return items;
}

/** An opaque Responses value that is a whole input item (local_shell_call…) rather than a content part (input_file…). */
function isInputItem(value: unknown): value is JsonObject {
  return isObject(value) && typeof value.type === 'string' && !value.type.startsWith('input_');
}

/** The raw text of a freeform call, from its `{"input": …}` arguments (or the arguments as they are). */
function freeformInput(argumentsJson: string): string {
  try {
    const parsed: unknown = JSON.parse(argumentsJson);
    if (isObject(parsed) && typeof parsed.input === 'string') return parsed.input;
  } catch {
    // falls through
  }
  return argumentsJson;
}

function buildTool(tool: IRTool): JsonObject | undefined {
  if (tool.source?.protocol === 'openaiResponses') return tool.source.definition as JsonObject;
  if (tool.providerHosted) return undefined;
  return {
    type: 'function',
    name: tool.name,
    ...(tool.description !== undefined && { description: tool.description }),
    parameters: tool.inputSchema,
    // Responses makes function tools strict unless told otherwise, and strict refuses most clients' schemas.
    strict: tool.strict ?? false,
  };
}

function buildToolChoice(ir: IRRequest): unknown {
  const choice = ir.toolChoice;
  if (choice === undefined || typeof choice === 'string') return choice;
  const freeform = ir.tools.some((tool) => tool.name === choice.name && tool.freeform);
  return { type: freeform ? 'custom' : 'function', name: choice.name };
}

function buildRequest(request: IRRequest, options: BuildRequestOptions = {}): { path: string; body: JsonObject } {
  const ir = withBuildOptions(request, options);
  const extensions = { ...(ir.extensions?.protocol === 'openaiResponses' ? ir.extensions.fields : {}) };
  if (options.reasoning === false) delete extensions.reasoning;
  const instructions = ir.system.filter((block) => block.role === undefined).map((block) => block.text).join('\n\n');
  const tools = ir.tools.map(buildTool).filter((tool): tool is JsonObject => tool !== undefined);
  // The whole conversation is sent every time: nothing needs storing at OpenAI, and reasoning has to come back
  // encrypted to be replayed on the next turn.
  const store = typeof extensions.store === 'boolean' ? extensions.store : false;
  const reasoningSettings = isObject(extensions.reasoning) ? extensions.reasoning : undefined;
  const reasoning = ir.thinking ? { summary: 'auto', ...reasoningSettings, effort: thinkingEffort(ir.thinking) } : reasoningSettings;
  const include = new Set(Array.isArray(extensions.include) ? (extensions.include as string[]) : []);
  if (reasoning && !store) include.add('reasoning.encrypted_content');
  if (!reasoning) include.delete('reasoning.encrypted_content');
  delete extensions.include;
  const textSettings = isObject(extensions.text) ? extensions.text : undefined;
  const format = ir.responseFormat
    ? ir.responseFormat.type === 'json_object'
      ? { type: 'json_object' }
      : compact({
          type: 'json_schema',
          name: ir.responseFormat.name ?? 'response',
          schema: ir.responseFormat.schema,
          strict: ir.responseFormat.strict,
        })
    : undefined;
  const text = format ? { ...textSettings, format } : textSettings;
  const body: JsonObject = compact({
    model: ir.model,
    instructions: instructions || undefined,
    input: buildInput(ir),
    tools: tools.length > 0 ? tools : undefined,
    tool_choice: tools.length > 0 ? buildToolChoice(ir) : undefined,
    parallel_tool_calls: tools.length > 0 ? ir.parallelToolCalls : undefined,
    max_output_tokens: ir.maxOutputTokens,
    temperature: ir.temperature,
    top_p: ir.topP,
    stream: ir.stream,
    store,
    reasoning,
    include: include.size > 0 ? [...include] : undefined,
    text,
    prompt_cache_key: ir.metadata.promptCacheKey,
    user: ir.metadata.user,
  });
  for (const [key, value] of Object.entries(extensions)) if (!(key in body)) body[key] = value;
  return { path: RESPONSES_PATH, body };
}

// ---------------------------------------------------------------------------------------------------------------
// Usage, stop reasons and errors

/** input_tokens includes the cached ones; the IR keeps them apart. */
function usageFromWire(usage: unknown): IRUsage {
  if (!isObject(usage)) return zeroUsage();
  const inputDetails = isObject(usage.input_tokens_details) ? usage.input_tokens_details : {};
  const outputDetails = isObject(usage.output_tokens_details) ? usage.output_tokens_details : {};
  const cached = tokenCount(inputDetails.cached_tokens);
  return {
    ...zeroUsage(),
    inputTokens: Math.max(0, tokenCount(usage.input_tokens) - cached),
    cacheReadTokens: cached,
    outputTokens: tokenCount(usage.output_tokens),
    reasoningTokens: tokenCount(outputDetails.reasoning_tokens),
  };
}

function usageToWire(usage: IRUsage): JsonObject {
  const input = totalPromptTokens(usage);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cacheReadTokens },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens },
    total_tokens: input + usage.outputTokens,
  };
}

/** Accepts a response status or an incomplete_details.reason. */
function stopReasonFromWire(reason: string | null | undefined): IRStopReason {
  switch (reason) {
    case 'incomplete':
    case 'max_output_tokens':
      return 'maxTokens';
    case 'content_filter':
      return 'contentFilter';
    default:
      return 'end';
  }
}

/** The response status; an incomplete response's reason is incompleteReason(). */
function stopReasonToWire(reason: IRStopReason): string {
  return reason === 'maxTokens' || reason === 'contentFilter' ? 'incomplete' : 'completed';
}

function incompleteReason(reason: IRStopReason): string | undefined {
  if (reason === 'maxTokens') return 'max_output_tokens';
  if (reason === 'contentFilter') return 'content_filter';
  return undefined;
}

function encodeError(status: number, message: string, kind: GatewayErrorKind, options?: EncodeErrorOptions): EncodedError {
  const clientFacing = clientStatus(kind, status, 503);
  return { status: clientFacing, headers: errorHeaders(clientFacing, options), body: { error: openAiError(clientFacing, message, kind) } };
}

// ---------------------------------------------------------------------------------------------------------------
// Responses

function stopOfResponse(response: JsonObject, calledTools: boolean): IRStopReason {
  const details = isObject(response.incomplete_details) ? response.incomplete_details : {};
  const reason =
    response.status === 'incomplete'
      ? stopReasonFromWire(typeof details.reason === 'string' ? details.reason : 'incomplete')
      : 'end';
  return effectiveStopReason(reason, calledTools);
}

function summaryText(summary: unknown): string {
  return (Array.isArray(summary) ? summary : []).map((entry) => (isObject(entry) ? String(entry.text ?? '') : '')).join('\n\n');
}

function outputParts(output: unknown[]): IRPart[] {
  const content: IRPart[] = [];
  for (const value of output) {
    if (!isObject(value)) continue;
    if (value.type === 'message') {
      const text = (Array.isArray(value.content) ? value.content : [])
        .map((part) => (isObject(part) ? (part.type === 'output_text' ? part.text : part.type === 'refusal' ? part.refusal : '') : ''))
        .join('');
      if (text) content.push({ type: 'text', text: String(text) });
    } else if (value.type === 'function_call') {
      const id = String(value.call_id ?? '');
      content.push({ type: 'toolCall', id, name: String(value.name ?? ''), argumentsJson: String(value.arguments ?? '') });
    } else if (value.type === 'custom_tool_call') {
      const argumentsJson = JSON.stringify({ input: String(value.input ?? '') });
      content.push({ type: 'toolCall', id: String(value.call_id ?? ''), name: String(value.name ?? ''), argumentsJson, freeform: true });
    } else if (value.type === 'reasoning') {
      const summary = summaryText(value.summary);
      content.push({
        type: 'thinking',
        text: summary,
        ...(typeof value.encrypted_content === 'string' && { signature: value.encrypted_content }),
        provider: 'openai',
        native: value,
      });
    }
  }
  return content;
}

function parseResponse(json: unknown): IRResponse {
  const response = requireObject(json, 'response');
  if (response.status === 'failed') {
    const error = isObject(response.error) ? response.error : {};
    throw new UpstreamReportedError(undefined, String(error.code ?? 'server_error'), String(error.message ?? 'The response failed.'));
  }
  const content = outputParts(optionalArray(response.output, 'response.output'));
  return {
    id: typeof response.id === 'string' ? response.id : '',
    model: typeof response.model === 'string' ? response.model : '',
    content,
    stopReason: stopOfResponse(response, content.some((part) => part.type === 'toolCall')),
    usage: usageFromWire(response.usage),
    usageReported: isObject(response.usage),
  };
}

function isFreeformCall(name: string, freeform: boolean | undefined, meta: StreamMeta): boolean {
  return freeform === true || (meta.freeformToolNames?.includes(name) ?? false);
}

/** Ids for the output items one answer creates. */
class ItemIds {
  private readonly token = randomToken();
  private next = 0;

  create(prefix: 'msg' | 'fc' | 'ctc' | 'rs'): string {
    return `${prefix}_${this.token}${(this.next++).toString().padStart(3, '0')}`;
  }
}

function messageItem(id: string, text: string, status: string): JsonObject {
  const content = status === 'in_progress' ? [] : [{ type: 'output_text', text, annotations: [], logprobs: [] }];
  return { id, type: 'message', status, role: 'assistant', content };
}

function callItem(id: string, callId: string, name: string, argumentsJson: string, freeform: boolean, status: string): JsonObject {
  return freeform
    ? { id, type: 'custom_tool_call', status, call_id: callId, name, input: status === 'in_progress' ? '' : freeformInput(argumentsJson) }
    : { id, type: 'function_call', status, call_id: callId, name, arguments: argumentsJson };
}

function reasoningOutputItem(id: string, text: string, encrypted: string | undefined): JsonObject {
  return compact({ id, type: 'reasoning', summary: text ? [{ type: 'summary_text', text }] : [], encrypted_content: encrypted });
}

function responseObject(meta: StreamMeta, createdAt: number, status: string, output: JsonObject[], extra: JsonObject = {}): JsonObject {
  return {
    id: meta.id,
    object: 'response',
    created_at: createdAt,
    status,
    error: null,
    incomplete_details: null,
    model: meta.model,
    output,
    usage: null,
    ...extra,
  };
}

function encodeResponse(response: IRResponse, meta: StreamMeta): JsonObject {
  const ids = new ItemIds();
  const output: JsonObject[] = [];
  for (const part of response.content) {
    if (part.type === 'text' && part.text) output.push(messageItem(ids.create('msg'), part.text, 'completed'));
    else if (part.type === 'toolCall') {
      const freeform = isFreeformCall(part.name, part.freeform, meta);
      output.push(callItem(ids.create(freeform ? 'ctc' : 'fc'), part.id, part.name, part.argumentsJson, freeform, 'completed'));
    } else if (part.type === 'thinking' && thinkingTravelsTo(part.provider, 'openai')) {
      const id = isObject(part.native) && typeof part.native.id === 'string' ? part.native.id : ids.create('rs');
      output.push(reasoningOutputItem(id, part.text, part.signature));
    }
  }
  const reason = incompleteReason(response.stopReason);
  return responseObject(meta, Math.floor(Date.now() / 1000), stopReasonToWire(response.stopReason), output, {
    incomplete_details: reason ? { reason } : null,
    usage: usageToWire(response.usage),
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Streams

interface DecodedItem {
  kind: 'message' | 'call' | 'reasoning' | 'other';
  toolIndex?: number;
  freeform?: boolean;
  itemId?: string;
  sawDelta: boolean;
}

/** A piece of raw text as it appears inside a JSON string, so freeform input streams as `{"input": …}` arguments. */
function jsonStringBody(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

class ResponsesStreamDecoder extends FramedStreamDecoder<SseMessage> implements StreamDecoder {
  private readonly items = new Map<string, DecodedItem>();
  private nextToolIndex = 0;

  constructor() {
    super(new SseParser(), 'server_error', 'The OpenAI Responses stream ended before response.completed.');
  }

  protected decode(message: SseMessage, events: IREvent[]): void {
    if (message.data.trim() === '[DONE]') return;
    this.frame(parseFrame(message.data, `OpenAI Responses ${message.event ?? 'stream'} event`), events);
  }

  /** Items are found by item_id, or by output_index for servers that leave item ids out. */
  private itemOf(frame: JsonObject): DecodedItem | undefined {
    if (typeof frame.item_id === 'string' && this.items.has(frame.item_id)) return this.items.get(frame.item_id);
    return this.items.get(`#${String(frame.output_index)}`);
  }

  private remember(frame: JsonObject, item: JsonObject, decoded: DecodedItem): void {
    this.items.set(`#${String(frame.output_index)}`, decoded);
    if (typeof item.id === 'string') this.items.set(item.id, decoded);
  }

  private frame(frame: JsonObject, events: IREvent[]): void {
    switch (frame.type) {
      case 'response.created': {
        const response = isObject(frame.response) ? frame.response : {};
        events.push({ type: 'start', id: String(response.id ?? ''), model: String(response.model ?? '') });
        break;
      }
      case 'response.output_item.added': {
        const item = isObject(frame.item) ? frame.item : {};
        if (item.type === 'function_call' || item.type === 'custom_tool_call') {
          const freeform = item.type === 'custom_tool_call';
          const decoded: DecodedItem = { kind: 'call', toolIndex: this.nextToolIndex++, freeform, sawDelta: false };
          this.remember(frame, item, decoded);
          events.push({
            type: 'toolCallStart',
            index: decoded.toolIndex!,
            id: String(item.call_id ?? ''),
            name: String(item.name ?? ''),
            ...(freeform && { freeform }),
          });
          if (freeform) events.push({ type: 'toolCallDelta', index: decoded.toolIndex!, argumentsJsonDelta: '{"input":"' });
        } else if (item.type === 'reasoning') {
          this.remember(frame, item, { kind: 'reasoning', ...(typeof item.id === 'string' && { itemId: item.id }), sawDelta: false });
        } else {
          this.remember(frame, item, { kind: item.type === 'message' ? 'message' : 'other', sawDelta: false });
        }
        break;
      }
      case 'response.output_text.delta':
      case 'response.refusal.delta': {
        const item = this.itemOf(frame);
        if (item) item.sawDelta = true;
        if (typeof frame.delta === 'string' && frame.delta) events.push({ type: 'textDelta', text: frame.delta });
        break;
      }
      case 'response.function_call_arguments.delta':
      case 'response.custom_tool_call_input.delta': {
        const item = this.itemOf(frame);
        if (item?.kind !== 'call' || typeof frame.delta !== 'string' || !frame.delta) break;
        item.sawDelta = true;
        const argumentsJsonDelta = item.freeform ? jsonStringBody(frame.delta) : frame.delta;
        events.push({ type: 'toolCallDelta', index: item.toolIndex!, argumentsJsonDelta });
        break;
      }
      case 'response.reasoning_summary_part.added': {
        const item = this.itemOf(frame);
        if (item?.kind === 'reasoning' && typeof frame.summary_index === 'number' && frame.summary_index > 0) {
          events.push({ type: 'thinkingDelta', text: '\n\n', provider: 'openai', ...(item.itemId && { itemId: item.itemId }) });
        }
        break;
      }
      case 'response.reasoning_summary_text.delta':
      case 'response.reasoning_text.delta': {
        const item = this.itemOf(frame);
        if (item?.kind !== 'reasoning' || typeof frame.delta !== 'string' || !frame.delta) break;
        item.sawDelta = true;
        events.push({ type: 'thinkingDelta', text: frame.delta, provider: 'openai', ...(item.itemId && { itemId: item.itemId }) });
        break;
      }
      case 'response.output_item.done':
        this.itemDone(frame, events);
        break;
      case 'response.completed':
      case 'response.incomplete': {
        this.finished = true;
        const response = isObject(frame.response) ? frame.response : {};
        if (isObject(response.usage)) events.push({ type: 'usage', usage: usageFromWire(response.usage) });
        events.push({ type: 'stop', reason: stopOfResponse(response, this.nextToolIndex > 0) });
        break;
      }
      case 'response.failed': {
        this.finished = true;
        const response = isObject(frame.response) ? frame.response : {};
        const error = isObject(response.error) ? response.error : {};
        const message = String(error.message ?? 'The response failed.');
        events.push({ type: 'error', errorType: String(error.code ?? 'server_error'), message });
        break;
      }
      case 'error':
        this.finished = true;
        const message = String(frame.message ?? 'The Responses stream reported an error.');
        events.push({ type: 'error', errorType: String(frame.code ?? 'server_error'), message });
        break;
    }
  }

  private itemDone(frame: JsonObject, events: IREvent[]): void {
    const item = isObject(frame.item) ? frame.item : {};
    const decoded = this.itemOf(frame) ?? (typeof item.id === 'string' ? this.items.get(item.id) : undefined);
    if (decoded?.kind === 'call') {
      const index = decoded.toolIndex!;
      // Servers that send only the finished item (no deltas) still deliver the arguments.
      if (!decoded.sawDelta) {
        const whole = decoded.freeform ? jsonStringBody(String(item.input ?? '')) : String(item.arguments ?? '');
        if (whole) events.push({ type: 'toolCallDelta', index, argumentsJsonDelta: whole });
      }
      if (decoded.freeform) events.push({ type: 'toolCallDelta', index, argumentsJsonDelta: '"}' });
      events.push({ type: 'toolCallEnd', index });
    } else if (decoded?.kind === 'reasoning' || item.type === 'reasoning') {
      const itemId = typeof item.id === 'string' ? item.id : decoded?.itemId;
      if (!decoded?.sawDelta) {
        const summary = summaryText(item.summary);
        if (summary) events.push({ type: 'thinkingDelta', text: summary, provider: 'openai', ...(itemId && { itemId }) });
      }
      events.push({
        type: 'thinkingEnd',
        provider: 'openai',
        ...(typeof item.encrypted_content === 'string' && { signature: item.encrypted_content }),
        ...(itemId && { itemId }),
      });
    } else if (decoded?.kind === 'message' && !decoded.sawDelta) {
      const [text] = outputParts([item]);
      if (text?.type === 'text') events.push({ type: 'textDelta', text: text.text });
    }
  }
}

type OpenItem =
  | { kind: 'message'; id: string; outputIndex: number; text: string }
  | { kind: 'reasoning'; id: string; outputIndex: number; text: string }
  | { kind: 'call'; id: string; outputIndex: number; callId: string; name: string; args: string; freeform: boolean; toolIndex: number };

class ResponsesStreamEncoder implements StreamEncoder {
  private readonly sequencer = new BlockSequencer();
  private readonly ids = new ItemIds();
  private readonly createdAt = Math.floor(Date.now() / 1000);
  private readonly output: JsonObject[] = [];
  private sequenceNumber = 0;
  private started = false;
  private open: OpenItem | undefined;
  private usage: IRUsage | undefined;
  private stop: IRStopReason | undefined;
  private calledTools = false;
  private closed = false;

  constructor(private readonly meta: StreamMeta) {}

  encode(event: IREvent): string {
    if (this.closed) return '';
    return this.sequencer.push(event).map((sequenced) => this.write(sequenced)).join('');
  }

  end(): string {
    if (this.closed) return '';
    let out = this.sequencer.finish().map((event) => this.write(event)).join('');
    out += this.begin() + this.closeItem();
    this.closed = true;
    const reason = effectiveStopReason(this.stop, this.calledTools);
    const incomplete = incompleteReason(reason);
    const status = stopReasonToWire(reason);
    const response = responseObject(this.meta, this.createdAt, status, this.output, {
      incomplete_details: incomplete ? { reason: incomplete } : null,
      usage: usageToWire(this.usage ?? zeroUsage()),
    });
    return out + this.frame(status === 'completed' ? 'response.completed' : 'response.incomplete', { response });
  }

  private frame(type: string, payload: JsonObject): string {
    return sseFrame(type, { type, sequence_number: this.sequenceNumber++, ...payload });
  }

  private begin(): string {
    if (this.started) return '';
    this.started = true;
    const response = responseObject(this.meta, this.createdAt, 'in_progress', []);
    return this.frame('response.created', { response }) + this.frame('response.in_progress', { response });
  }

  private openItem(item: OpenItem, added: JsonObject): string {
    const out = this.closeItem();
    this.open = item;
    return out + this.frame('response.output_item.added', { output_index: item.outputIndex, item: added });
  }

  private closeItem(): string {
    const item = this.open;
    if (!item) return '';
    this.open = undefined;
    const at = { item_id: item.id, output_index: item.outputIndex };
    let out = '';
    let done: JsonObject;
    if (item.kind === 'message') {
      out += this.frame('response.output_text.done', { ...at, content_index: 0, text: item.text, logprobs: [] });
      const part = { type: 'output_text', text: item.text, annotations: [], logprobs: [] };
      out += this.frame('response.content_part.done', { ...at, content_index: 0, part });
      done = messageItem(item.id, item.text, 'completed');
    } else if (item.kind === 'call') {
      if (item.freeform) {
        const input = freeformInput(item.args);
        if (input) out += this.frame('response.custom_tool_call_input.delta', { ...at, delta: input });
        out += this.frame('response.custom_tool_call_input.done', { ...at, input });
      } else {
        out += this.frame('response.function_call_arguments.done', { ...at, name: item.name, arguments: item.args });
      }
      done = callItem(item.id, item.callId, item.name, item.args, item.freeform, 'completed');
    } else {
      // Reasoning items are closed by thinkingEnd, which knows the encrypted content.
      done = reasoningOutputItem(item.id, item.text, undefined);
    }
    this.output.push(done);
    return out + this.frame('response.output_item.done', { output_index: item.outputIndex, item: done });
  }

  private write(event: IREvent): string {
    switch (event.type) {
      case 'start':
        return this.begin();
      case 'textDelta': {
        if (!event.text) return '';
        let out = this.begin();
        if (this.open?.kind !== 'message') {
          const id = this.ids.create('msg');
          const outputIndex = this.nextOutputIndex();
          out += this.openItem({ kind: 'message', id, outputIndex, text: '' }, messageItem(id, '', 'in_progress'));
          out += this.frame('response.content_part.added', {
            item_id: id,
            output_index: outputIndex,
            content_index: 0,
            part: { type: 'output_text', text: '', annotations: [], logprobs: [] },
          });
        }
        const open = this.open as Extract<OpenItem, { kind: 'message' }>;
        open.text += event.text;
        const at = { item_id: open.id, output_index: open.outputIndex, content_index: 0 };
        return out + this.frame('response.output_text.delta', { ...at, delta: event.text, logprobs: [] });
      }
      case 'thinkingDelta': {
        if (!thinkingTravelsTo(event.provider, 'openai') || !event.text) return '';
        let out = this.begin();
        if (this.open?.kind !== 'reasoning') out += this.openReasoning(event.itemId);
        const open = this.open as Extract<OpenItem, { kind: 'reasoning' }>;
        const at = { item_id: open.id, output_index: open.outputIndex, summary_index: 0 };
        if (!open.text) out += this.frame('response.reasoning_summary_part.added', { ...at, part: { type: 'summary_text', text: '' } });
        open.text += event.text;
        return out + this.frame('response.reasoning_summary_text.delta', { ...at, delta: event.text });
      }
      case 'thinkingEnd': {
        if (!thinkingTravelsTo(event.provider, 'openai')) return '';
        let out = this.begin();
        if (this.open?.kind !== 'reasoning') out += this.openReasoning(event.itemId);
        const open = this.open as Extract<OpenItem, { kind: 'reasoning' }>;
        this.open = undefined;
        const at = { item_id: open.id, output_index: open.outputIndex };
        if (open.text) {
          out += this.frame('response.reasoning_summary_text.done', { ...at, summary_index: 0, text: open.text });
          const part = { type: 'summary_text', text: open.text };
          out += this.frame('response.reasoning_summary_part.done', { ...at, summary_index: 0, part });
        }
        const done = reasoningOutputItem(open.id, open.text, event.signature);
        this.output.push(done);
        return out + this.frame('response.output_item.done', { output_index: open.outputIndex, item: done });
      }
      case 'toolCallStart': {
        this.calledTools = true;
        const freeform = isFreeformCall(event.name, event.freeform, this.meta);
        const id = this.ids.create(freeform ? 'ctc' : 'fc');
        const outputIndex = this.nextOutputIndex();
        return (
          this.begin() +
          this.openItem(
            { kind: 'call', id, outputIndex, callId: event.id, name: event.name, args: '', freeform, toolIndex: event.index },
            callItem(id, event.id, event.name, '', freeform, 'in_progress'),
          )
        );
      }
      case 'toolCallDelta': {
        const open = this.open;
        if (open?.kind !== 'call' || open.toolIndex !== event.index || !event.argumentsJsonDelta) return '';
        open.args += event.argumentsJsonDelta;
        // A freeform call's input is only known once its JSON arguments are complete.
        if (open.freeform) return '';
        const at = { item_id: open.id, output_index: open.outputIndex };
        return this.frame('response.function_call_arguments.delta', { ...at, delta: event.argumentsJsonDelta });
      }
      case 'toolCallEnd':
        return this.open?.kind === 'call' && this.open.toolIndex === event.index ? this.closeItem() : '';
      case 'usage':
        this.usage = event.usage;
        return '';
      case 'stop':
        this.stop = event.reason;
        return '';
      case 'error': {
        this.closed = true;
        const response = responseObject(this.meta, this.createdAt, 'failed', this.output, {
          error: { code: event.errorType, message: event.message },
        });
        return this.begin() + this.frame('response.failed', { response });
      }
    }
  }

  /** The index the next item gets: the open item is closed (and counted) before it opens. */
  private nextOutputIndex(): number {
    return this.output.length + (this.open ? 1 : 0);
  }

  private openReasoning(itemId: string | undefined): string {
    const id = itemId ?? this.ids.create('rs');
    const outputIndex = this.nextOutputIndex();
    return this.openItem({ kind: 'reasoning', id, outputIndex, text: '' }, { id, type: 'reasoning', summary: [] });
  }
}

export const openAiResponsesCodec: ProtocolCodec = {
  protocol: 'openaiResponses',
  streamContentType: 'text/event-stream',
  parseRequest,
  buildRequest,
  createStreamDecoder: () => new ResponsesStreamDecoder(),
  createStreamEncoder: (meta) => new ResponsesStreamEncoder(meta),
  parseResponse,
  encodeResponse,
  encodeError,
  usageFromWire,
  usageToWire,
  stopReasonFromWire,
  stopReasonToWire,
};
