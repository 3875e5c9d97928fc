import type { FromWebviewMessage, RequestName, RequestOf, ResponseMessage, ResponseOf } from './protocol';

/** How long a request may go unanswered before it fails (the extension answers every request it gets). */
const REQUEST_TIMEOUT_MS = 30_000;

interface Pending {
  resolve(payload: unknown): void;
  reject(error: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Requests to the extension, answered by sequence number (as in vscode-pull-request-github's webviews). */
export class RequestChannel {
  private nextSeq = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly post: (message: FromWebviewMessage) => void) {}

  request<Name extends RequestName>(name: Name, payload: RequestOf<Name>): Promise<ResponseOf<Name>> {
    const seq = this.nextSeq++;
    return new Promise<ResponseOf<Name>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`Tierwise did not answer "${name}" within ${REQUEST_TIMEOUT_MS / 1000} s.`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(seq, { resolve: resolve as (payload: unknown) => void, reject, timer });
      this.post({ type: 'request', name, seq, payload } as FromWebviewMessage);
    });
  }

  /** Settles the request a response answers; a response nobody waits for (timed out) is dropped. */
  settle(response: ResponseMessage): void {
    const pending = this.pending.get(response.seq);
    if (!pending) return;
    this.pending.delete(response.seq);
    clearTimeout(pending.timer);
    pending.resolve(response.payload);
  }
}
