/**
 * Protocol translation for the gateway: one codec per wire protocol, all meeting in the IR. The gateway parses the
 * client's request with the client's codec, builds the upstream request with the upstream's codec, decodes the
 * upstream's stream with the upstream's codec and encodes it for the client with the client's codec.
 */
import { anthropicCodec } from './anthropic';
import type { BuildRequestOptions, IRRequest, IRStopReason, IRUsage, Protocol, ProtocolCodec, StreamMeta } from './ir';
import { ollamaCodec } from './ollama';
import { openAiChatCodec } from './openaiChat';
import { openAiResponsesCodec } from './openaiResponses';

export * from './errors';
export * from './ir';

const CODECS: Record<Protocol, ProtocolCodec> = {
  anthropic: anthropicCodec,
  openaiChat: openAiChatCodec,
  openaiResponses: openAiResponsesCodec,
  ollama: ollamaCodec,
};

export const PROTOCOLS: readonly Protocol[] = Object.keys(CODECS) as Protocol[];

export function codecFor(protocol: Protocol): ProtocolCodec {
  return CODECS[protocol];
}

/** A client's request body in `from`'s protocol, as the request to send to an upstream speaking `to`. */
export function translateRequest(
  from: Protocol,
  to: Protocol,
  body: unknown,
  options?: BuildRequestOptions,
): { path: string; body: Record<string, unknown> } {
  return codecFor(to).buildRequest(codecFor(from).parseRequest(body), options);
}

/** An upstream's usage object as the client's protocol writes it (via IRUsage, where cache reads stay apart). */
export function translateUsage(from: Protocol, to: Protocol, usage: unknown): Record<string, unknown> {
  return codecFor(to).usageToWire(codecFor(from).usageFromWire(usage));
}

/** end_turn ⇄ stop ⇄ completed, max_tokens ⇄ length ⇄ incomplete, tool_use ⇄ tool_calls. */
export function translateStopReason(from: Protocol, to: Protocol, reason: string | null | undefined): string {
  return codecFor(to).stopReasonToWire(codecFor(from).stopReasonFromWire(reason));
}

export function usageOf(protocol: Protocol, usage: unknown): IRUsage {
  return codecFor(protocol).usageFromWire(usage);
}

export function stopReasonOf(protocol: Protocol, reason: string | null | undefined): IRStopReason {
  return codecFor(protocol).stopReasonFromWire(reason);
}

/** The encoder settings that follow from the client's own request (its usage chunk wish, its freeform tools). */
export function streamMetaFor(clientRequest: IRRequest, answer: { id: string; model: string }): StreamMeta {
  const freeformToolNames = clientRequest.tools.filter((tool) => tool.freeform).map((tool) => tool.name);
  return {
    ...answer,
    // An OpenAI Chat client only gets the usage chunk it asked for.
    includeUsage: clientRequest.streamIncludeUsage === true,
    ...(freeformToolNames.length > 0 && { freeformToolNames }),
  };
}
