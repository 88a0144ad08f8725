// One error class for everything the transaction layer refuses. The `code` is a literal union
// so `switch (err.code)` narrows; the `Symbol.for` brand makes `isTransactionError` work across
// several copies of this package loaded in one process.

/**
 * Why the layer refused a call.
 * - `ERR_INVALID_REQUEST`: `sendRequest` got a request without a top Via, CSeq or Call-ID, or
 *   an ACK (ACK has no client transaction: ACK for 2xx is the TU's, sent without one).
 * - `ERR_INVALID_RESPONSE`: `ServerTransaction.send` got a status outside 100..699.
 * - `ERR_TRANSACTION_EXISTS`: `sendRequest` would create a client transaction whose id (branch
 *   and method) is already in use, e.g. a second CANCEL for the same INVITE.
 * - `ERR_SHUTDOWN`: the layer was shut down.
 * - `ERR_INVALID_OPTION`: a timer value or limit in the options is not a positive number.
 */
export type TransactionErrorCode =
  | 'ERR_INVALID_REQUEST'
  | 'ERR_INVALID_RESPONSE'
  | 'ERR_TRANSACTION_EXISTS'
  | 'ERR_SHUTDOWN'
  | 'ERR_INVALID_OPTION';

/** Every code, for documentation and exhaustive tests. */
export const TRANSACTION_ERROR_CODES: readonly TransactionErrorCode[] = [
  'ERR_INVALID_REQUEST',
  'ERR_INVALID_RESPONSE',
  'ERR_TRANSACTION_EXISTS',
  'ERR_SHUTDOWN',
  'ERR_INVALID_OPTION',
];

const brand: unique symbol = Symbol.for('@sipts/transaction.TransactionError') as never;

export interface TransactionErrorOptions {
  cause?: unknown;
}

export class TransactionError extends Error {
  override readonly name = 'TransactionError';
  readonly code: TransactionErrorCode;
  readonly [brand] = true;

  constructor(code: TransactionErrorCode, message: string, options: TransactionErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  // Several copies of this package can live in one application: `instanceof` checks the brand.
  static override [Symbol.hasInstance](value: unknown): boolean {
    return isTransactionError(value);
  }
}

/** True for a TransactionError from any copy of this package. */
export function isTransactionError(e: unknown): e is TransactionError {
  return typeof e === 'object' && e !== null && (e as { [brand]?: unknown })[brand] === true;
}
