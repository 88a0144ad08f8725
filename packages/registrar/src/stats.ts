// Counters for metrics: plain numbers, read with `registrar.stats()`.

export class RegistrarStats {
  /** REGISTERs answered, by status. */
  readonly responses = new Map<number, number>();
  added = 0;
  refreshed = 0;
  removed = 0;
  expired = 0;
  /** Bindings removed because their connection closed (also counted in `removed`). */
  flowsDropped = 0;
  lookups = 0;
  storeErrors = 0;
  /** Digest verifications that failed (challenged or blocked). */
  authFailures = 0;
  /** Credential lookups or policies that threw (answered 500). */
  authErrors = 0;

  response(status: number): void {
    this.responses.set(status, (this.responses.get(status) ?? 0) + 1);
  }

  snapshot(): {
    registers: number;
    responses: Record<string, number>;
    added: number;
    refreshed: number;
    removed: number;
    expired: number;
    flowsDropped: number;
    lookups: number;
    storeErrors: number;
    authFailures: number;
    authErrors: number;
  } {
    let registers = 0;
    const responses: Record<string, number> = {};
    for (const [status, n] of this.responses) {
      responses[String(status)] = n;
      registers += n;
    }
    return {
      registers,
      responses,
      added: this.added,
      refreshed: this.refreshed,
      removed: this.removed,
      expired: this.expired,
      flowsDropped: this.flowsDropped,
      lookups: this.lookups,
      storeErrors: this.storeErrors,
      authFailures: this.authFailures,
      authErrors: this.authErrors,
    };
  }
}
