/**
 * The HTTP/1.1 response parser behind the plain-HTTP upstream client: one response read from the bytes of a
 * connection however they are split, its head (interim 1xx answers skipped, repeated and folded headers), its body
 * framed by Content-Length, chunked coding or the end of the connection, whether the connection can be reused, and
 * the malformed answers it refuses.
 */
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, test } from 'node:test';
import { Http1ParseError, Http1ResponseParser, MAX_HEAD_BYTES } from '../../extension/gateway/http1Response';

/** Everything a parser reported, in order. */
interface Parsed {
  parser: Http1ResponseParser;
  heads: Array<{ status: number; headers: IncomingHttpHeaders }>;
  pieces: Buffer[];
  completes: number;
  /** 'head', 'data' and 'complete' in the order they fired. */
  events: string[];
  body(): string;
}

function recorder(): Parsed {
  const parsed: Parsed = {
    parser: undefined as unknown as Http1ResponseParser,
    heads: [],
    pieces: [],
    completes: 0,
    events: [],
    body: () => Buffer.concat(parsed.pieces).toString('latin1'),
  };
  parsed.parser = new Http1ResponseParser({
    head: (status, headers) => {
      parsed.heads.push({ status, headers });
      parsed.events.push('head');
    },
    data: (piece) => {
      parsed.pieces.push(piece);
      parsed.events.push('data');
    },
    complete: () => {
      parsed.completes++;
      parsed.events.push('complete');
    },
  });
  return parsed;
}

/** Feeds `chunks` (strings are latin1 bytes) to a new parser. */
function parse(...chunks: Array<string | Buffer>): Parsed {
  const parsed = recorder();
  for (const chunk of chunks) parsed.parser.feed(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
  return parsed;
}

/** The bytes of `text` in a buffer of their own (not a slice of Node's shared pool). */
function ownBuffer(text: string): Buffer {
  const buffer = Buffer.alloc(Buffer.byteLength(text, 'latin1'));
  buffer.write(text, 'latin1');
  return buffer;
}

/** `text` split into one-byte chunks. */
const bytewise = (text: string): string[] => [...text];

const LENGTH_RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nX-Request-Id: abc\r\n\r\nhello world';
const CHUNKED_RESPONSE =
  'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n' +
  '5;name=val\r\nhello\r\n' +
  '1\r\n \r\n' +
  'a;ext="quoted; value";other\r\nworld, and\r\n' +
  'B \r\n more bytes\r\n' +
  '0;last=1\r\nX-Trailer: done\r\nX-Checksum: 1234\r\n\r\n';
const CHUNKED_BODY = 'hello world, and more bytes';

/** What both the Content-Length and the chunked response must parse to, however they are fed. */
function assertWhole(parsed: Parsed, expected: { headers: IncomingHttpHeaders; body: string }, how: string): void {
  assert.equal(parsed.heads.length, 1, `${how}: one head`);
  assert.equal(parsed.heads[0].status, 200, how);
  assert.deepEqual(parsed.heads[0].headers, expected.headers, how);
  assert.equal(parsed.body(), expected.body, how);
  assert.equal(parsed.completes, 1, `${how}: completes once`);
  assert.equal(parsed.events.at(-1), 'complete', `${how}: nothing after completion`);
  assert.equal(parsed.events[0], 'head', `${how}: the head comes first`);
  assert.equal(parsed.parser.complete, true, how);
  assert.equal(parsed.parser.keepAlive, true, how);
  assert.equal(parsed.parser.trailingBytes, false, how);
  assert.equal(parsed.parser.end(), true, `${how}: a complete response is complete at the close too`);
  assert.equal(parsed.completes, 1, `${how}: end() after completion does not complete again`);
}

describe('Http1ResponseParser: framing however the bytes are split', () => {
  const cases = [
    {
      name: 'a Content-Length response',
      text: LENGTH_RESPONSE,
      expected: { headers: { 'content-type': 'text/plain', 'content-length': '11', 'x-request-id': 'abc' }, body: 'hello world' },
    },
    {
      name: 'a chunked response with chunk extensions and a trailer section',
      text: CHUNKED_RESPONSE,
      expected: { headers: { 'content-type': 'text/event-stream', 'transfer-encoding': 'chunked' }, body: CHUNKED_BODY },
    },
  ];

  for (const { name, text, expected } of cases) {
    test(`${name}: in one chunk`, () => {
      assertWhole(parse(text), expected, 'one chunk');
    });

    test(`${name}: split in two at every byte position`, () => {
      for (let at = 0; at <= text.length; at++) assertWhole(parse(text.slice(0, at), text.slice(at)), expected, `split at ${at}`);
    });

    test(`${name}: fed one byte at a time`, () => {
      assertWhole(parse(...bytewise(text)), expected, 'one byte at a time');
    });

    test(`${name}: split in three at many position pairs`, () => {
      for (let first = 1; first < text.length; first += 3) {
        for (let second = first + 1; second < text.length; second += 7) {
          assertWhole(parse(text.slice(0, first), text.slice(first, second), text.slice(second)), expected, `split at ${first} and ${second}`);
        }
      }
    });

    test(`${name}: fed in one chunk, the body is handed on in one piece${name.includes('chunked') ? '' : ', a view into that chunk, not a copy'}`, () => {
      const chunk = ownBuffer(text);
      const parsed = parse(chunk);
      assert.equal(parsed.body(), expected.body);
      assert.equal(parsed.pieces.length, 1, 'one data event for the chunk');
      // Chunk-coded pieces are not contiguous in the chunk: handed on together, they are a copy.
      if (name.includes('chunked')) return;
      for (const piece of parsed.pieces) {
        assert.equal(piece.buffer, chunk.buffer, 'the piece shares the chunk memory');
        assert.ok(piece.byteOffset >= chunk.byteOffset && piece.byteOffset + piece.length <= chunk.byteOffset + chunk.length);
      }
      // Writing through the chunk shows through the piece: it really is the same memory.
      const first = parsed.pieces[0];
      const offset = first.byteOffset - chunk.byteOffset;
      chunk[offset] = 'H'.charCodeAt(0);
      assert.equal(first.toString('latin1', 0, 1), 'H');
    });
  }

  test('a chunked body whose sizes are hex and whose lines end with a bare LF', () => {
    const body = 'x'.repeat(0x1f) + 'y'.repeat(0xa0);
    const parsed = parse(`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1F\n${'x'.repeat(0x1f)}\n00a0\r\n${'y'.repeat(0xa0)}\r\n0\n\n`);
    assert.equal(parsed.body(), body);
    assert.equal(parsed.completes, 1);
  });

  test('transfer-encoding chunked wins over a content-length', () => {
    const parsed = parse('HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n');
    assert.equal(parsed.body(), 'hello');
    assert.equal(parsed.completes, 1);
    assert.equal(parsed.parser.trailingBytes, false);
  });

  test('the same content-length repeated (in one line or two) is accepted', () => {
    for (const lines of ['content-length: 5, 5\r\n', 'content-length: 5\r\nContent-Length: 5\r\n']) {
      const parsed = parse(`HTTP/1.1 200 OK\r\n${lines}\r\nhello`);
      assert.equal(parsed.body(), 'hello', lines);
      assert.equal(parsed.completes, 1, lines);
    }
  });
});

describe('Http1ResponseParser: interim answers and bodiless responses', () => {
  const interim =
    'HTTP/1.1 100 Continue\r\n\r\n' +
    'HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n' +
    'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok';

  test('100 Continue and 103 Early Hints before the final 200 are skipped: one head, status 200, its own headers', () => {
    const parsed = parse(interim);
    assert.equal(parsed.heads.length, 1);
    assert.equal(parsed.heads[0].status, 200);
    assert.deepEqual(parsed.heads[0].headers, { 'content-length': '2', connection: 'keep-alive' });
    assert.equal(parsed.body(), 'ok');
    assert.equal(parsed.completes, 1);
    assert.deepEqual(parsed.events, ['head', 'data', 'complete']);
  });

  test('interim answers split at every byte position are skipped the same way', () => {
    for (let at = 0; at <= interim.length; at++) {
      const parsed = parse(interim.slice(0, at), interim.slice(at));
      assert.deepEqual(
        parsed.heads.map((head) => head.status),
        [200],
        `split at ${at}`,
      );
      assert.equal(parsed.body(), 'ok', `split at ${at}`);
      assert.equal(parsed.completes, 1, `split at ${at}`);
    }
  });

  test('an interim answer alone is not a response: no head, not complete, not complete at the close either', () => {
    const parsed = parse('HTTP/1.1 100 Continue\r\n\r\n');
    assert.equal(parsed.heads.length, 0);
    assert.equal(parsed.parser.complete, false);
    assert.equal(parsed.parser.end(), false);
    assert.equal(parsed.completes, 0);
  });

  for (const [status, extra] of [
    ['204 No Content', ''],
    ['304 Not Modified', 'content-length: 100\r\n'],
    ['200 OK', 'content-length: 0\r\n'],
  ] as const) {
    test(`${status}${extra ? ` (${extra.trim()})` : ''} completes with no body right after the head`, () => {
      const parsed = parse(`HTTP/1.1 ${status}\r\nx-a: 1\r\n${extra}\r\n`);
      assert.deepEqual(parsed.events, ['head', 'complete']);
      assert.equal(parsed.heads[0].status, Number(status.slice(0, 3)));
      assert.equal(parsed.heads[0].headers['x-a'], '1');
      assert.equal(parsed.pieces.length, 0);
      assert.equal(parsed.parser.complete, true);
      assert.equal(parsed.parser.keepAlive, true);
      assert.equal(parsed.parser.trailingBytes, false);
    });
  }
});

describe('Http1ResponseParser: a body read until the connection closes', () => {
  test('no Content-Length and no Transfer-Encoding: the body runs until end(), which completes it; not reusable', () => {
    const parsed = parse('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\npart one, ', 'part two, ', 'part three');
    assert.equal(parsed.heads[0].status, 200);
    assert.equal(parsed.body(), 'part one, part two, part three');
    assert.equal(parsed.parser.complete, false, 'not complete before the close');
    assert.equal(parsed.completes, 0);
    assert.equal(parsed.parser.keepAlive, false);
    assert.equal(parsed.parser.end(), true);
    assert.equal(parsed.parser.complete, true);
    assert.equal(parsed.completes, 1);
    assert.equal(parsed.parser.end(), true, 'a second end() still reports complete');
    assert.equal(parsed.completes, 1, 'and does not complete again');
  });

  test('a head alone, then the close: an empty body read until close is complete', () => {
    const parsed = parse('HTTP/1.1 200 OK\r\nx-a: 1\r\n\r\n');
    assert.equal(parsed.parser.end(), true);
    assert.deepEqual(parsed.events, ['head', 'complete']);
    assert.equal(parsed.body(), '');
  });

  test('HTTP/1.1 with connection keep-alive but no length still cannot be reused', () => {
    const parsed = parse('HTTP/1.1 200 OK\r\nconnection: keep-alive\r\n\r\nabc');
    assert.equal(parsed.parser.keepAlive, false);
    assert.equal(parsed.parser.end(), true);
    assert.equal(parsed.body(), 'abc');
  });

  for (const coding of ['gzip', 'chunked, gzip', 'identity']) {
    test(`transfer-encoding "${coding}" (chunked not last): read until the close, not reusable`, () => {
      const parsed = parse(`HTTP/1.1 200 OK\r\ntransfer-encoding: ${coding}\r\ncontent-length: 3\r\n\r\n`, Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x0d, 0x0a, 0x30]));
      assert.equal(parsed.heads[0].status, 200);
      assert.deepEqual([...Buffer.concat(parsed.pieces)], [0x1f, 0x8b, 0x08, 0x00, 0x0d, 0x0a, 0x30], 'bytes passed through as they are, past the content-length');
      assert.equal(parsed.parser.complete, false);
      assert.equal(parsed.parser.keepAlive, false);
      assert.equal(parsed.parser.end(), true);
      assert.equal(parsed.completes, 1);
    });
  }

  test('transfer-encoding "gzip, chunked" is chunked (the last coding)', () => {
    const parsed = parse('HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.equal(parsed.body(), 'abc');
    assert.equal(parsed.completes, 1);
    assert.equal(parsed.parser.keepAlive, true);
  });
});

describe('Http1ResponseParser: whether the connection can be reused', () => {
  const headOf = (statusLine: string, headers = '') => parse(`${statusLine}\r\n${headers}content-length: 0\r\n\r\n`).parser;

  test('HTTP/1.1 is keep-alive by default', () => {
    const parser = headOf('HTTP/1.1 200 OK');
    assert.equal(parser.keepAlive, true);
    assert.equal(parser.keepAliveTimeoutMs, undefined);
  });

  for (const connection of ['close', 'Close', 'keep-alive, close', 'Connection: keep-alive, close', 'close, x-other', 'te,  close ,upgrade']) {
    const line = connection.startsWith('Connection:') ? `${connection}\r\n` : `connection: ${connection}\r\n`;
    test(`HTTP/1.1 with "${line.trim()}" is not reusable`, () => {
      assert.equal(headOf('HTTP/1.1 200 OK', line).keepAlive, false);
    });
  }

  test('connection close in a second Connection header line is not reusable', () => {
    assert.equal(headOf('HTTP/1.1 200 OK', 'Connection: keep-alive\r\nConnection: close\r\n').keepAlive, false);
  });

  test('a connection token that merely contains "close" does not close', () => {
    assert.equal(headOf('HTTP/1.1 200 OK', 'connection: closed-captions, x-close\r\n').keepAlive, true);
  });

  test('HTTP/1.0 without keep-alive is not reusable', () => {
    assert.equal(headOf('HTTP/1.0 200 OK').keepAlive, false);
  });

  test('HTTP/1.0 with connection keep-alive is reusable', () => {
    assert.equal(headOf('HTTP/1.0 200 OK', 'Connection: Keep-Alive\r\n').keepAlive, true);
  });

  test('keep-alive: timeout=5, max=100 gives keepAliveTimeoutMs 5000', () => {
    const parser = headOf('HTTP/1.1 200 OK', 'Keep-Alive: timeout=5, max=100\r\n');
    assert.equal(parser.keepAliveTimeoutMs, 5000);
    assert.equal(parser.keepAlive, true);
    assert.equal(headOf('HTTP/1.1 200 OK', 'keep-alive: max=9, Timeout=60\r\n').keepAliveTimeoutMs, 60_000);
  });

  test('bytes after a complete response set trailingBytes and keepAlive false; the body stops at its length', () => {
    const parsed = parse('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n');
    assert.equal(parsed.body(), 'ok');
    assert.equal(parsed.completes, 1);
    assert.equal(parsed.parser.trailingBytes, true);
    assert.equal(parsed.parser.keepAlive, false);
  });

  test('bytes after a chunked response, a 204, or in a later chunk set trailingBytes too', () => {
    for (const chunks of [
      ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nX'],
      ['HTTP/1.1 204 No Content\r\n\r\nX'],
      ['HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok', 'X'],
    ]) {
      const parsed = parse(...chunks);
      assert.equal(parsed.completes, 1, chunks.join('|'));
      assert.equal(parsed.parser.trailingBytes, true, chunks.join('|'));
      assert.equal(parsed.parser.keepAlive, false, chunks.join('|'));
      assert.ok(!parsed.body().includes('X'), chunks.join('|'));
    }
  });

  test('started is false before the first feed and true after, even a partial one', () => {
    const parsed = recorder();
    assert.equal(parsed.parser.started, false);
    assert.equal(parsed.parser.complete, false);
    parsed.parser.feed(Buffer.from('HT'));
    assert.equal(parsed.parser.started, true);
    assert.equal(parsed.heads.length, 0);
  });
});

describe('Http1ResponseParser: headers', () => {
  const head =
    'HTTP/1.1 200 OK\r\n' +
    'Set-Cookie: a=1; Path=/\r\n' +
    'X-Multi: one\r\n' +
    'set-cookie: b=2\r\n' +
    'x-MULTI: two\r\n' +
    'X-Multi: three\r\n' +
    'X-Trimmed:    spaced value \t \r\n' +
    'X-Empty:\r\n' +
    'X-Folded: first\r\n' +
    '   second part\r\n' +
    '\tthird part\r\n' +
    'Content-Length: 0\r\n\r\n';

  test('repeated, mixed-case, padded and folded headers', () => {
    const { heads } = parse(head);
    const headers = heads[0].headers;
    assert.deepEqual(headers['set-cookie'], ['a=1; Path=/', 'b=2'], 'set-cookie is an array');
    assert.equal(headers['x-multi'], 'one, two, three', 'other repeated headers are joined');
    assert.equal(headers['x-trimmed'], 'spaced value');
    assert.equal(headers['x-empty'], '');
    assert.equal(headers['x-folded'], 'first second part third part', 'obs-fold continuation lines are appended');
    assert.deepEqual(Object.keys(headers), ['set-cookie', 'x-multi', 'x-trimmed', 'x-empty', 'x-folded', 'content-length']);
    for (const name of Object.keys(headers)) assert.equal(name, name.toLowerCase());
  });

  test('a folded line after a set-cookie continues that cookie, and the header stays an array', () => {
    const { heads } = parse('HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nset-cookie: b=2;\r\n Path=/\r\ncontent-length: 0\r\n\r\n');
    assert.deepEqual(heads[0].headers['set-cookie'], ['a=1', 'b=2; Path=/']);
  });

  test('a single set-cookie is an array of one', () => {
    assert.deepEqual(parse('HTTP/1.1 200 OK\r\nset-cookie: s=1\r\ncontent-length: 0\r\n\r\n').heads[0].headers['set-cookie'], ['s=1']);
  });

  test('a status line without a reason phrase, or with a long one, is read', () => {
    assert.equal(parse('HTTP/1.1 418\r\ncontent-length: 0\r\n\r\n').heads[0].status, 418);
    assert.equal(parse('HTTP/1.1 503 Service Unavailable: try later\r\ncontent-length: 0\r\n\r\n').heads[0].status, 503);
  });

  test(
    'a header named like an Object.prototype member (constructor) keeps its value',
    {},
    () => {
      const { heads } = parse('HTTP/1.1 200 OK\r\nConstructor: x\r\ncontent-length: 0\r\n\r\n');
      assert.equal(heads[0].headers['constructor' as string], 'x');
    },
  );
});

describe('Http1ResponseParser: end() before the response is complete', () => {
  test('in the middle of a Content-Length body: false, not complete', () => {
    const parsed = parse('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello');
    assert.equal(parsed.body(), 'hello');
    assert.equal(parsed.parser.end(), false);
    assert.equal(parsed.parser.complete, false);
    assert.equal(parsed.completes, 0);
  });

  for (const [where, text] of [
    ['in chunk data', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel'],
    ['after a chunk', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n'],
    ['after the last chunk, before the trailers end', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n'],
  ] as const) {
    test(`in the middle of a chunked body (${where}): false, not complete`, () => {
      const parsed = parse(text);
      assert.equal(parsed.heads.length, 1);
      assert.equal(parsed.parser.end(), false);
      assert.equal(parsed.parser.complete, false);
      assert.equal(parsed.completes, 0);
    });
  }

  test('before the head is complete, or before any byte: false', () => {
    assert.equal(parse('HTTP/1.1 200 OK\r\ncontent-le').parser.end(), false);
    assert.equal(recorder().parser.end(), false);
  });
});

describe('Http1ResponseParser: malformed answers throw Http1ParseError', () => {
  const cases: Array<[string, Array<string | Buffer>, RegExp]> = [
    ['a non-HTTP status line', ['SSH-2.0-OpenSSH_9.6\r\n\r\n'], /not an HTTP\/1\.x status line/],
    ['an HTTP/2 status line', ['HTTP/2 200\r\n\r\n'], /not an HTTP\/1\.x status line/],
    ['a status that is not three digits', ['HTTP/1.1 20 OK\r\n\r\n'], /not an HTTP\/1\.x status line/],
    ['a bad chunk size', ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n'], /bad chunk size "zz"/],
    ['an empty chunk size', ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\r\n'], /bad chunk size/],
    ['a negative chunk size', ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-1\r\n'], /bad chunk size/],
    ['conflicting content-length values in one line', ['HTTP/1.1 200 OK\r\ncontent-length: 5, 6\r\n\r\nhello!'], /bad content-length "5, 6"/],
    ['conflicting content-length header lines', ['HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-length: 6\r\n\r\nhello!'], /bad content-length/],
    ['a non-numeric content-length', ['HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n'], /bad content-length "x"/],
    ['a negative content-length', ['HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n'], /bad content-length/],
    ['a chunk longer than its size (no CRLF after its data)', ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n'], /a chunk is longer than its size/],
    ['a chunk longer than its size, split after the size', ['HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nhel', 'lo\r\n0\r\n\r\n'], /a chunk is longer than its size/],
    ['a head larger than MAX_HEAD_BYTES without the blank line', [`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(MAX_HEAD_BYTES)}`], /larger than 65536 bytes/],
    ['a head larger than MAX_HEAD_BYTES with the blank line', [`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(MAX_HEAD_BYTES)}\r\n\r\n`], /larger than 65536 bytes/],
    ['a chunk-size line longer than 8 KiB', [`HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;${'e'.repeat(9000)}`], /a line of the chunked body is larger/],
    ['101 Switching Protocols', ['HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n'], /switched protocols/],
    ['a header line without a colon', ['HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'], /a header line without a name/],
    ['a header line with an empty name', ['HTTP/1.1 200 OK\r\n: value\r\n\r\n'], /a header line without a name/],
    ['a folded line with no header before it', ['HTTP/1.1 200 OK\r\n folded\r\n\r\n'], /a folded header line with no header before it/],
  ];

  for (const [name, chunks, message] of cases) {
    test(name, () => {
      const parsed = recorder();
      assert.throws(
        () => {
          for (const chunk of chunks) parsed.parser.feed(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk);
        },
        (error: unknown) => {
          assert.ok(error instanceof Http1ParseError, `an Http1ParseError, not ${String(error)}`);
          assert.equal(error.name, 'Http1ParseError');
          assert.match(error.message, message);
          return true;
        },
      );
      assert.equal(parsed.completes, 0, 'never completes');
    });
  }

  test('a head of more than MAX_HEAD_BYTES fed in 4 KiB pieces throws once past the limit, not before', () => {
    const parsed = recorder();
    const text = `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(MAX_HEAD_BYTES + 4096)}`;
    let fed = 0;
    assert.throws(() => {
      for (; fed < text.length; fed += 4096) parsed.parser.feed(Buffer.from(text.slice(fed, fed + 4096), 'latin1'));
    }, Http1ParseError);
    assert.ok(fed >= MAX_HEAD_BYTES, `threw after ${fed} bytes`);
    assert.ok(fed <= MAX_HEAD_BYTES + 4096, `threw after ${fed} bytes`);
  });

  test('a head just under MAX_HEAD_BYTES is read', () => {
    const prefix = 'HTTP/1.1 200 OK\r\nx-big: ';
    const suffix = '\r\ncontent-length: 0';
    const value = 'a'.repeat(MAX_HEAD_BYTES - prefix.length - suffix.length);
    const parsed = parse(`${prefix}${value}${suffix}\r\n\r\n`);
    assert.equal(parsed.heads[0].headers['x-big'], value);
    assert.equal(parsed.completes, 1);
  });
});
