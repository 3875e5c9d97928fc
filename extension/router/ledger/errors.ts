export type LedgerErrorKind = 'lockTimeout' | 'writeFailed' | 'badMonth';

/** A ledger failure that names the file or folder involved and what to do about it. */
export class LedgerError extends Error {
  override readonly name = 'LedgerError';

  constructor(
    readonly kind: LedgerErrorKind,
    message: string,
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
