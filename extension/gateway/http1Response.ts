import type { IncomingHttpHeaders } from 'node:http';

/** A status line and header section larger than this is refused (node:http and undici allow 16 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line (with extensions) or trailer line longer than this is refused. */
const MAX_LINE_BYTES = 8 * 1024;

export class Http1ParseError extends Error {
  override readonly name = 'Http1ParseError';
}

/** What the parser found, in order: one head, body pieces, then completion. */
export interface Http1ResponseEvents {
  head(status: number, headers: IncomingHttpHeaders): void;
  /** A piece of the body, a view into the socket's chunk (transfer coding removed). */
  data(piece: Buffer): void;
  complete(): void;
}

type State = 'head' | 'length' | 'chunkSize' | 'chunkData' | 'chunkEnd' | 'trailers' | 'untilClose' | 'done';

/**
 * An HTTP/1.1 response parser for one response on a connection (RFC 9112): status line and headers, interim 1xx
 * answers skipped, the body framed by Content-Length, chunked transfer coding (extensions and trailers read and
 * dropped) or the end of the connection. Body pieces are views into the chunks fed in, not copies.
 */
export class Http1ResponseParser {
  private state: State = 'head';
  /** Bytes of an unfinished head or line carried over to the next chunk. */
  private carried: Buffer | undefined;
  private remaining = 0;
  /** Whether the connection can carry another request once this response is complete. */
  keepAlive = true;
  /** `keep-alive: timeout=N` from the server, in ms: it closes idle connections after that. */
  keepAliveTimeoutMs: number | undefined;
  /** Bytes after the end of the response (a server that should not have sent them); the connection is not reused. */
  trailingBytes = false;
  /** Whether any byte of the response has arrived. */
  started = false;
  /** Body pieces read from the chunk being fed, handed on together when it has been read through. */
  private pieces: Buffer[] = [];

  constructor(private readonly events: Http1ResponseEvents) {}

  get complete(): boolean {
    return this.state === 'done';
  }

  /** Feeds one chunk; events fire as it is read. Throws Http1ParseError on a malformed response. */
  feed(chunk: Buffer): void {
    this.started = true;
    let buffer = chunk;
    let at = 0;
    if (this.carried) {
      buffer = Buffer.concat([this.carried, chunk]);
      this.carried = undefined;
    }
    while (at < buffer.length) {
      switch (this.state) {
        case 'head': {
          const end = buffer.indexOf('\r\n\r\n', at, 'latin1');
          if (end < 0) return this.carry(buffer, at, MAX_HEAD_BYTES, 'the response head');
          if (end - at > MAX_HEAD_BYTES) throw new Http1ParseError(`the response head is larger than ${MAX_HEAD_BYTES} bytes`);
          const head = buffer.toString('latin1', at, end);
          at = end + 4;
          this.readHead(head);
          break;
        }
        case 'length': {
          const take = Math.min(this.remaining, buffer.length - at);
          this.remaining -= take;
          this.pieces.push(take === buffer.length ? buffer : buffer.subarray(at, at + take));
          at += take;
          if (this.remaining === 0) this.finish();
          break;
        }
        case 'untilClose':
          this.pieces.push(at === 0 ? buffer : buffer.subarray(at));
          at = buffer.length;
          break;
        case 'chunkSize': {
          const next = this.readChunkSize(buffer, at);
          if (next < 0) return this.handOn();
          at = next;
          this.state = this.remaining === 0 ? 'trailers' : 'chunkData';
          break;
        }
        case 'chunkData': {
          const take = Math.min(this.remaining, buffer.length - at);
          this.remaining -= take;
          this.pieces.push(buffer.subarray(at, at + take));
          at += take;
          if (this.remaining === 0) this.state = 'chunkEnd';
          break;
        }
        case 'chunkEnd': {
          // The CRLF (or a bare LF) after a chunk's data.
          const byte = buffer[at];
          if (byte === 13 && at + 1 === buffer.length) {
            this.carry(buffer, at, MAX_LINE_BYTES, 'a line of the chunked body');
            return this.handOn();
          }
          if (byte === 10) at += 1;
          else if (byte === 13 && buffer[at + 1] === 10) at += 2;
          else throw new Http1ParseError('a chunk is longer than its size');
          this.state = 'chunkSize';
          break;
        }
        case 'trailers': {
          const line = this.line(buffer, at);
          if (line === undefined) return this.handOn();
          at = line.next;
          if (line.text === '') this.finish();
          break;
        }
        case 'done':
          this.trailingBytes = true;
          this.keepAlive = false;
          return;
      }
      if ((this.state as State) === 'done' && at < buffer.length) {
        this.trailingBytes = true;
        this.keepAlive = false;
        return;
      }
    }
    this.handOn();
  }

  /**
   * The body pieces read so far, handed on as one: a stream's events arrive several to a chunk, each in its own
   * chunk of the transfer coding, and one piece per read costs the relay one write instead of one per event. A
   * single piece is passed as the view it is.
   */
  private handOn(): void {
    const pieces = this.pieces;
    if (pieces.length === 0) return;
    this.pieces = [];
    this.events.data(pieces.length === 1 ? pieces[0] : Buffer.concat(pieces));
  }

  /** A chunk-size line read from the bytes (hex digits, then extensions): the index after it, or -1 when incomplete. */
  private readChunkSize(buffer: Buffer, at: number): number {
    const newline = buffer.indexOf(10, at);
    if (newline < 0) {
      this.carry(buffer, at, MAX_LINE_BYTES, 'a line of the chunked body');
      return -1;
    }
    let index = at;
    while (index < newline && (buffer[index] === 32 || buffer[index] === 9)) index++;
    let size = 0;
    const digitsFrom = index;
    for (; index < newline; index++) {
      const digit = hexDigit(buffer[index]);
      if (digit < 0) break;
      size = size * 16 + digit;
    }
    const digits = index - digitsFrom;
    while (index < newline && (buffer[index] === 32 || buffer[index] === 9)) index++;
    // After the size: extensions (";…"), or the line's end (a CR before the LF).
    const rest = buffer[index];
    const ended = index === newline || (rest === 13 && index === newline - 1) || rest === 59;
    if (digits === 0 || digits > 12 || !ended) {
      const end = newline > at && buffer[newline - 1] === 13 ? newline - 1 : newline;
      throw new Http1ParseError(`bad chunk size "${buffer.toString('latin1', at, end).split(';', 1)[0].trim().slice(0, 40)}"`);
    }
    this.remaining = size;
    return newline + 1;
  }

  /** The connection ended: a body read until the close is complete; anything else was cut short. */
  end(): boolean {
    if (this.state === 'untilClose') {
      this.finish();
      return true;
    }
    return this.state === 'done';
  }

  private finish(): void {
    this.handOn();
    this.state = 'done';
    this.events.complete();
  }

  private carry(buffer: Buffer, at: number, limit: number, what: string): void {
    if (buffer.length - at > limit) throw new Http1ParseError(`${what} is larger than ${limit} bytes`);
    this.carried = Buffer.from(buffer.subarray(at));
  }

  /** One CRLF-terminated line (a bare LF is accepted), or undefined with the partial line carried over. */
  private line(buffer: Buffer, at: number): { text: string; next: number } | undefined {
    const newline = buffer.indexOf(10, at);
    if (newline < 0) {
      this.carry(buffer, at, MAX_LINE_BYTES, 'a line of the chunked body');
      return undefined;
    }
    const end = newline > at && buffer[newline - 1] === 13 ? newline - 1 : newline;
    return { text: buffer.toString('latin1', at, end), next: newline + 1 };
  }

  private readHead(head: string): void {
    // "HTTP/1.x SSS reason": the version's minor digit at 7, the status at 9–11.
    const lineEnd = head.indexOf('\r\n');
    const statusLine = lineEnd < 0 ? head : head.slice(0, lineEnd);
    const minor = statusLine.charCodeAt(7);
    const status = Number(statusLine.slice(9, 12));
    if (!statusLine.startsWith('HTTP/1.') || (minor !== 0x30 && minor !== 0x31) || statusLine.charCodeAt(8) !== 0x20 || !/^\d{3}$/.test(statusLine.slice(9, 12)) || (statusLine.length > 12 && statusLine.charCodeAt(12) !== 0x20)) {
      throw new Http1ParseError(`not an HTTP/1.x status line: "${statusLine.slice(0, 80)}"`);
    }
    const headers: IncomingHttpHeaders = {};
    let last: string | undefined;
    for (let at = lineEnd < 0 ? head.length : lineEnd + 2; at < head.length; ) {
      let end = head.indexOf('\r\n', at);
      if (end < 0) end = head.length;
      const first = head.charCodeAt(at);
      if (first === 0x20 || first === 0x09) {
        // Obsolete line folding: the line continues the previous header's value.
        if (last === undefined) throw new Http1ParseError('a folded header line with no header before it');
        const value = headers[last];
        const more = head.slice(at, end).trim();
        if (Array.isArray(value)) value[value.length - 1] += ` ${more}`;
        else headers[last] = `${value} ${more}`;
      } else {
        const colon = head.indexOf(':', at);
        if (colon <= at || colon > end) throw new Http1ParseError(`a header line without a name: "${head.slice(at, Math.min(end, at + 80))}"`);
        const name = head.slice(at, colon).toLowerCase();
        // The value without the whitespace around it, sliced once.
        let from = colon + 1;
        let to = end;
        while (from < to && isBlank(head.charCodeAt(from))) from++;
        while (to > from && isBlank(head.charCodeAt(to - 1))) to--;
        const value = head.slice(from, to);
        // Own properties only: a header named "constructor" is not Object.prototype's.
        const previous = Object.hasOwn(headers, name) ? headers[name] : undefined;
        if (previous === undefined) headers[name] = name === 'set-cookie' ? [value] : value;
        else if (Array.isArray(previous)) previous.push(value);
        else headers[name] = `${previous}, ${value}`;
        last = name;
      }
      at = end + 2;
    }
    if (status < 200) {
      if (status === 101) throw new Http1ParseError('the upstream switched protocols, which the gateway never asks for');
      return; // an interim answer (100 Continue, 103 Early Hints): the real head follows
    }
    const connection = headers.connection;
    if (minor === 0x31) this.keepAlive = connection === undefined || !hasToken(connection, 'close');
    else this.keepAlive = connection !== undefined && hasToken(connection, 'keep-alive');
    const keepAlive = headers['keep-alive'];
    if (keepAlive !== undefined) {
      const hint = /timeout=(\d+)/i.exec(String(keepAlive));
      if (hint) this.keepAliveTimeoutMs = Number(hint[1]) * 1000;
    }
    this.state = this.framing(status, headers);
    this.events.head(status, headers);
    if (this.state === 'done') this.events.complete();
  }

  private framing(status: number, headers: IncomingHttpHeaders): State {
    if (status === 204 || status === 304) return 'done';
    const transferEncoding = headers['transfer-encoding'];
    if (transferEncoding !== undefined) {
      // Chunked must be the last coding; any other ends where the connection ends (RFC 9112 §6.3).
      if (/(^|,)\s*chunked\s*$/i.test(String(transferEncoding))) return 'chunkSize';
      this.keepAlive = false;
      return 'untilClose';
    }
    const contentLength = headers['content-length'];
    if (contentLength !== undefined) {
      const values = new Set(String(contentLength).split(',').map((value) => value.trim()));
      const [only] = values;
      if (values.size !== 1 || !/^\d{1,15}$/.test(only)) throw new Http1ParseError(`bad content-length "${String(contentLength).slice(0, 40)}"`);
      this.remaining = Number(only);
      return this.remaining === 0 ? 'done' : 'length';
    }
    this.keepAlive = false;
    return 'untilClose';
  }
}

/** Whether a comma-separated header value lists `token` (case-insensitive). */
function hasToken(value: string | string[], token: string): boolean {
  const text = (Array.isArray(value) ? value.join(',') : value).toLowerCase();
  if (text === token) return true;
  return text.split(',').some((item) => item.trim() === token);
}

const isBlank = (code: number) => code === 0x20 || code === 0x09;

/** The value of a hex digit's byte, or -1. */
function hexDigit(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}
