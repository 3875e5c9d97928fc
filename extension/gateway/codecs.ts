import type { ProtocolCodec } from './translate/ir';
import type { IngressProtocol, WireProtocol } from './protocols';

/** The translators by protocol; undefined where none exists (that pairing then cannot be routed). */
export type CodecLookup = (protocol: WireProtocol) => ProtocolCodec | undefined;

export const NO_CODECS: CodecLookup = () => undefined;

export function canTranslateWith(codecs: CodecLookup): (from: IngressProtocol, to: WireProtocol) => boolean {
  return (from, to) => codecs(from) !== undefined && codecs(to) !== undefined;
}
