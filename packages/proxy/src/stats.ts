// The proxy's counters: one object, incremented in place where the events happen, copied out
// by `SipProxy.stats()`.

/** What `SipProxy.stats()` returns: live sizes and counters since the proxy was made. */
export interface ProxyStats {
  /** Live contexts (requests with no final response sent upstream yet). */
  contexts: number;
  /** Contexts made (one per new request other than ACK and CANCEL). */
  contextsCreated: number;
  /** Branches handed to the stack (each a client transaction). */
  branches: number;
  /** Branches the proxy asked the stack to cancel (RFC 3261 §9.1, §16.7 step 10, §16.10). */
  branchesCancelled: number;
  /** Incoming CANCELs matched to a context (answered 200 and propagated, §16.10). */
  cancelsReceived: number;
  /** Incoming CANCELs with no context (answered 481). */
  cancelsUnmatched: number;
  /** Forks that had more targets than `maxBranches` left and went to the first ones only. */
  forksTruncated: number;
  /** Fork targets left out by `maxBranches`. */
  forkTargetsDropped: number;
  /** Branches asked for past `maxBranches`, ended at once with 500 Too Many Branches. */
  branchesRefused: number;
  /** Requests answered 482 Loop Detected (RFC 3261 §16.3 step 4). */
  loopsDetected: number;
  /** Requests answered 483 Too Many Hops (RFC 3261 §16.3 step 3). */
  tooManyHops: number;
  /** Contexts released by `contextTimeout` (the caller got 408, or 487 if it had cancelled). */
  contextsTimedOut: number;
  /** Branches given up by their fork `timeout` or by `cancelTimeout` (counted as 408 / 487). */
  branchesTimedOut: number;
  /** Requests forwarded without a context (`forwardStateless`, ACKs for 2xx). */
  statelessForwarded: number;
  /** Branches retried on another flow of the same instance after 430 or a transport error (RFC 5626 §5.3). */
  flowFailovers: number;
}

export type ProxyCounters = Omit<ProxyStats, 'contexts'>;

export function newCounters(): ProxyCounters {
  return {
    contextsCreated: 0,
    branches: 0,
    branchesCancelled: 0,
    cancelsReceived: 0,
    cancelsUnmatched: 0,
    forksTruncated: 0,
    forkTargetsDropped: 0,
    branchesRefused: 0,
    loopsDetected: 0,
    tooManyHops: 0,
    contextsTimedOut: 0,
    branchesTimedOut: 0,
    statelessForwarded: 0,
    flowFailovers: 0,
  };
}
