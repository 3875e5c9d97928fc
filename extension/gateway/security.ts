import { headerValue, type RequestHeaders } from './classify';
import { GatewayError } from './errors';

/**
 * Who may use the gateway: only local programs that hold the token. A browser page can reach 127.0.0.1 too, so
 * any request with an Origin header is refused, and a Host other than the gateway's own address (a DNS-rebinding
 * page on evil.example resolving to 127.0.0.1) is refused before the token is even looked at.
 */
export class GatewayAccess {
  private allowedHosts: ReadonlySet<string> = new Set();

  constructor(private readonly token: string) {}

  /** Call once listening: the Host header must then name this address and port. */
  setAddress(host: string, port: number): void {
    this.allowedHosts = new Set([`${host}:${port}`, `localhost:${port}`]);
  }

  /** The reason to refuse this request, or undefined when it may proceed. */
  check(headers: RequestHeaders): GatewayError | undefined {
    if (headers.origin !== undefined) {
      return new GatewayError('forbidden', 'Tierwise gateway: requests from web pages (with an Origin header) are refused.');
    }
    const host = headerValue(headers, 'host')?.toLowerCase();
    if (!host || !this.allowedHosts.has(host)) {
      return new GatewayError('forbidden', `Tierwise gateway: Host "${host ?? ''}" is not this gateway's address; use one of ${[...this.allowedHosts].join(', ')}.`);
    }
    const given = presentedToken(headers);
    if (given === undefined) {
      return new GatewayError('unauthorized', 'Tierwise gateway: no token. Send the gateway token as the API key (x-api-key or Authorization: Bearer).');
    }
    if (!this.matches(given)) {
      return new GatewayError('unauthorized', 'Tierwise gateway: wrong token. Use the token `tierwise gateway` printed (also in ~/.tierwise/gateway-token).');
    }
    return undefined;
  }

  /**
   * A constant-time comparison: every character is compared, whichever differs. Only the length can tell apart
   * wrong tokens, and every token has the same length (the tw-gw- prefix and 43 base64url characters), so that says
   * nothing an attacker does not already know. Done here rather than with crypto.timingSafeEqual, which needs both
   * as buffers: one allocation and a call into C++ on every request, for 48 characters.
   */
  private matches(given: string): boolean {
    const token = this.token;
    if (given.length !== token.length) return false;
    let difference = 0;
    for (let index = 0; index < token.length; index++) difference |= given.charCodeAt(index) ^ token.charCodeAt(index);
    return difference === 0;
  }
}

/** The token as Anthropic clients (x-api-key) or OpenAI clients (Authorization: Bearer) send their key. */
export function presentedToken(headers: RequestHeaders): string | undefined {
  const apiKey = headerValue(headers, 'x-api-key');
  if (apiKey) return apiKey.trim();
  const authorization = headerValue(headers, 'authorization');
  const bearer = authorization && /^Bearer\s+(.+)$/i.exec(authorization.trim());
  return bearer ? bearer[1].trim() : undefined;
}
