import type { IncomingMessage, ServerResponse } from 'node:http';
import { isLocalEndpoint } from '../router/config';
import { classify } from './classify';
import { countInputTokens, quickInputEstimate } from './estimate';
import { passThroughRequest, requestedMaxOutputTokens } from './exchange';
import type { RawBody } from './requestBody';
import type { GatewayRuntime } from './runtime';
import { planRoute } from './route';

/**
 * POST /v1/messages/count_tokens: asked of the Anthropic upstream the request would be routed to (with that
 * endpoint's model), or estimated when the route leads elsewhere or the upstream cannot answer. Counting is free,
 * so nothing is reserved or recorded.
 */
export async function runCountTokens(runtime: GatewayRuntime, request: IncomingMessage, response: ServerResponse, body: RawBody): Promise<void> {
  // x-tierwise-count says where the number came from: "upstream" (the provider counted) or "estimate".
  const answerEstimate = () => {
    if (!response.headersSent && !response.destroyed) response.writeHead(200, { 'content-type': 'application/json', 'x-tierwise-count': 'estimate' }).end(JSON.stringify({ input_tokens: countInputTokens(body) }));
  };
  const config = runtime.config();
  const classification = classify({ protocol: 'anthropic', headers: request.headers, body });
  const model = body.get('model');
  const estimate = quickInputEstimate('anthropic', body.raw.length, body);
  const plan = planRoute(
    {
      kind: classification.kind,
      ingress: 'anthropic',
      clientModel: typeof model === 'string' ? model : undefined,
      estInputTokens: estimate.budgetTokens,
      contextInputTokens: estimate.contextTokens,
      requestedMaxOutputTokens: requestedMaxOutputTokens('anthropic', body),
      canTranslate: runtime.canTranslate,
    },
    config,
    { totals: runtime.ledger.totals(), unavailableEndpointIds: runtime.health.coolingDown() },
  );
  if (plan.kind !== 'route' || plan.upstreamProtocol !== 'anthropic') return answerEstimate();
  let apiKey: string | undefined;
  try {
    apiKey = await runtime.keys.get(plan.endpoint);
  } catch {
    return answerEstimate();
  }
  if (!apiKey && !isLocalEndpoint(plan.endpoint)) return answerEstimate();

  const outgoing = passThroughRequest({ request, body, plan, apiKey, countTokens: true });
  const chunks: Buffer[] = [];
  let status = 0;
  runtime.upstream.send(outgoing.url, outgoing.headers, outgoing.body, plan.endpoint.timeoutMs ?? config.requestTimeoutMs, {
    onResponse: (head) => (status = head.status),
    onData: (chunk) => chunks.push(chunk) > 0,
    onEnd: () => {
      if (status >= 400) return answerEstimate();
      if (!response.headersSent && !response.destroyed) response.writeHead(200, { 'content-type': 'application/json', 'x-tierwise-count': 'upstream' }).end(Buffer.concat(chunks));
    },
    onError: answerEstimate,
  });
}
