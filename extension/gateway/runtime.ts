import type { ServerResponse } from 'node:http';
import type { Usage } from '../providers/types';
import type { TierwiseConfig } from '../router/config';
import type { EndpointHealth } from '../router/endpointHealth';
import type { CallRecord, SpendTotals } from '../router/ledger/records';
import type { RouterLedger } from '../router/router';
import type { Classification } from './classify';
import type { CodecLookup } from './codecs';
import { encodeGatewayError, type GatewayError } from './errors';
import type { KeyCache } from './keyCache';
import type { IngressProtocol, WireProtocol } from './protocols';
import type { RawBody } from './requestBody';
import type { RoutedPlan } from './route';
import type { PrefixDigest, SessionTracker } from './sessions';
import type { SettlementBatch } from './settlement';
import type { ProtocolCodec } from './translate';
import type { UpstreamConnections } from './upstream';

/** What every exchange shares: built once by the gateway. */
export interface GatewayRuntime {
  readonly config: () => TierwiseConfig;
  readonly ledger: RouterLedger;
  readonly keys: KeyCache;
  readonly sessions: SessionTracker;
  readonly health: EndpointHealth;
  readonly upstream: UpstreamConnections;
  readonly codecs: CodecLookup;
  /** Whether `codecs` can translate between two protocols. */
  readonly canTranslate: (from: IngressProtocol, to: WireProtocol) => boolean;
  readonly log: (line: string) => void;
  readonly debugLogPrompts: () => boolean;
  readonly now: () => number;
  /** Finished exchanges waiting to be written to the ledger together. */
  readonly settlements: SettlementBatch;
  /** Exchanges under way, for a graceful shutdown. */
  readonly inflight: Set<InflightExchange>;
  /** Totals planned with while no cap is set (see totalsForPlanning). */
  readonly planningCache: { uncappedTotals?: SpendTotals };
  readonly version: string;
}

export interface InflightExchange {
  /** Resolves once the exchange is settled in the ledger. */
  readonly done: Promise<void>;
  /** Ends it now (shutdown grace is over): the upstream is cut and what was used is settled. */
  abort(reason: string): void;
}

/** One routed request, from the decision to its settlement. */
export interface ExchangeState {
  readonly requestId: string;
  readonly config: TierwiseConfig;
  readonly ingress: IngressProtocol;
  readonly classification: Classification;
  readonly plan: RoutedPlan;
  readonly reservationId: string | undefined;
  readonly estInputTokens: number;
  readonly startedAt: number;
  readonly sessionKey: string;
  readonly stream: string | undefined;
  readonly body: RawBody;
  prefix: PrefixDigest | undefined;
  /** Cache breaks found for this turn, for the call record's detail. */
  readonly notes: string[];
  announced: boolean;
  /** The answer has ended (one way or another) and its settlement is queued. */
  finished: boolean;
  settled: boolean;
  /** Set when the gateway cut the exchange (shutdown): the call record says so rather than blaming a side. */
  abortReason?: string;
}

/** How an exchange ended, for its call record. */
export interface Settlement {
  usage: Usage | undefined;
  estimatedOutputTokens: number;
  outcome: CallRecord['outcome'];
  detail?: string;
  errorKind?: string;
  /** The upstream status, for endpoint health. */
  status?: number;
}

/** Writes a gateway error in the client's format (the translator's encoding for budget errors when there is one). */
export function sendGatewayError(response: ServerResponse, protocol: WireProtocol, error: GatewayError, codec?: ProtocolCodec): void {
  if (response.destroyed) return;
  if (response.headersSent) {
    response.destroy(error);
    return;
  }
  if (codec && error.kind === 'budget') {
    const encoded = codec.encodeError(error.status, error.message, 'budget');
    response.writeHead(encoded.status, encoded.headers).end(JSON.stringify(encoded.body));
    return;
  }
  const encoded = encodeGatewayError(protocol, error);
  response.writeHead(encoded.status, encoded.headers).end(encoded.body);
}

