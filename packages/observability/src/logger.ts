// Structured, levelled logs for a sipts stack through any logger with pino's shape: levels as
// methods taking `(object, message)`, and `child(bindings)`. A pino logger satisfies `SipLogger`
// as is; so do bunyan-style and console-backed adapters. Nothing is logged unless `logStack()`
// attaches it (default silent), and a line below the logger's level costs one level check.
import type { Remote, SipMessage, SipStack, StackLogger, StackObserver, Transaction } from '@sipts/core';


export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One level method: pino's `(mergingObject, message)` call shape. */
export type LogFn = (obj: Record<string, unknown>, msg?: string) => void;

/** What this package needs of a logger (pino's shape). */
export interface SipLogger {
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  child(bindings: Record<string, unknown>): SipLogger;
  /** pino's: lets a line below the level cost nothing. Optional. */
  isLevelEnabled?(level: string): boolean;
}

export interface LogStackOptions {
  /** Level of the per-message lines (`sip received`, `sip sent`); false: none. Default 'debug'. */
  messages?: LogLevel | false | undefined;
  /** Level of transaction lines (created, terminated, retransmission); false: none. Default 'debug'. */
  transactions?: LogLevel | false | undefined;
  /** Bindings of the child logger every line goes through. Default `{ component: 'sipts' }`. */
  bindings?: Record<string, unknown> | undefined;
}

/** The parts of a stack this needs (so a proxy's `stack` works too). */
export type LoggedStack = Pick<SipStack, 'observe' | 'on' | 'off'>;

/** `udp:192.0.2.1:5060` — one bounded string per peer, the form Kamailio and sipgo log. */
export function remoteText(remote: Remote | undefined): string | undefined {
  if (remote === undefined) return undefined;
  const host = remote.address.includes(':') && !remote.address.startsWith('[') ? `[${remote.address}]` : remote.address;
  return `${remote.protocol.toLowerCase()}:${host}:${remote.port}`;
}

function topBranch(message: SipMessage): string | undefined {
  const via = message.headers.via;
  const branch = Array.isArray(via) ? via[0]?.params?.branch : undefined;
  return typeof branch === 'string' ? branch : undefined;
}

/** The context of a message: Call-ID, CSeq, method or status, top Via branch. */
export function messageContext(message: SipMessage): Record<string, unknown> {
  const h = message.headers;
  const cseq = h.cseq;
  const context: Record<string, unknown> = {
    callId: h['call-id'],
    cseq: cseq === undefined ? undefined : `${cseq.seq} ${cseq.method}`,
    branch: topBranch(message),
  };
  if ('method' in message) context.method = message.method;
  else {
    context.status = message.status;
    context.method = cseq?.method;
  }
  return context;
}

function checkLevel(value: unknown, name: string, fallback: LogLevel): LogLevel | false {
  if (value === undefined) return fallback;
  if (value === false || (typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value))) return value as LogLevel | false;
  throw new TypeError(`options.${name} must be one of ${LOG_LEVELS.join(', ')} or false`);
}

/**
 * Log `stack`'s traffic and transactions to `logger` with the call context on every line:
 * `callId`, `branch`, `txKind` (transaction lines), `remote`, and `method`/`status`/`cseq`.
 * Stack errors go out at `error`, transport failures and shedding at `warn`, timeouts at `info`.
 * Returns the function that detaches it.
 */
export function logStack(stack: LoggedStack, logger: SipLogger, options: LogStackOptions = {}): () => void {
  if (typeof logger?.child !== 'function') throw new TypeError('logStack() needs a logger with child() (pino, or the SipLogger shape)');
  const messageLevel = checkLevel(options.messages, 'messages', 'debug');
  const txLevel = checkLevel(options.transactions, 'transactions', 'debug');
  const log = logger.child(options.bindings ?? { component: 'sipts' });
  const enabled = (level: LogLevel | false): boolean => level !== false && (log.isLevelEnabled === undefined || log.isLevelEnabled(level));
  /** Call-ID of each transaction, taken from the message that made it (weak: no growth). */
  const callIds = new WeakMap<Transaction, string>();
  let last: SipMessage | undefined;

  const txContext = (tx: Transaction): Record<string, unknown> => ({
    callId: callIds.get(tx),
    branch: tx.branch,
    txKind: tx.kind,
    method: tx.method,
    remote: remoteText(tx.remote),
  });

  const observer: StackObserver = {
    received(message, remote) {
      last = message;
      if (enabled(messageLevel)) log[messageLevel as LogLevel]({ ...messageContext(message), remote: remoteText(remote) }, 'sip received');
    },
    sent(message, target) {
      last = message;
      if (enabled(messageLevel)) log[messageLevel as LogLevel]({ ...messageContext(message), remote: remoteText(target) }, 'sip sent');
    },
    transactionCreated(tx) {
      // Created synchronously after the message that made it was received (server) or handed
      // to the wire (client): the same branch and method say it is that message.
      const m = last;
      if (m !== undefined && topBranch(m) === tx.branch && m.headers.cseq?.method === tx.method) {
        const callId = m.headers['call-id'];
        if (typeof callId === 'string') callIds.set(tx, callId);
      }
      if (enabled(txLevel)) log[txLevel as LogLevel](txContext(tx), 'transaction created');
    },
    transactionState(tx, from, to) {
      if (to === 'terminated' && enabled(txLevel)) log[txLevel as LogLevel]({ ...txContext(tx), from }, 'transaction terminated');
    },
    retransmit(tx, reason) {
      if (enabled(txLevel)) log[txLevel as LogLevel]({ ...txContext(tx), reason }, 'retransmission');
    },
    timeout(tx, timer) {
      if (enabled('info')) log.info({ ...txContext(tx), timer }, 'transaction timeout');
    },
    transportError(error, tx) {
      if (enabled('warn')) log.warn({ ...(tx === undefined ? {} : txContext(tx)), err: error }, 'transport error');
    },
    overload(request, remote, decision) {
      if (enabled('warn')) log.warn({ ...messageContext(request), remote: remoteText(remote), decision }, decision === 'reject' ? 'request shed with 503' : 'request dropped');
    },
  };
  const detach = stack.observe(observer);
  const onError = (error: Error): void => {
    if (enabled('error')) log.error({ err: error }, 'stack error');
  };
  const onOverload = (stats: { state: string; delayMs: number; queueDelayMs: number }): void => {
    if (enabled('warn')) log.warn({ state: stats.state, delayMs: stats.delayMs, queueDelayMs: stats.queueDelayMs }, 'overload state changed');
  };
  stack.on('error', onError);
  stack.on('overload', onOverload as never);
  return () => {
    detach();
    stack.off('error', onError);
    stack.off('overload', onOverload as never);
  };
}

/**
 * The stack's `logger` option (`send`/`recv`/`error`/`warn`, the `sip` hooks) on a levelled
 * logger: messages at `debug` with their context, errors at `error`, notices at `warn`. For code
 * that passes `logger` to `create()` and wants levelled JSON without `logStack()`.
 */
export function stackLogger(logger: SipLogger, level: LogLevel = 'debug'): StackLogger {
  const log = logger.child({ component: 'sipts' });
  const on = log.isLevelEnabled === undefined || log.isLevelEnabled(level);
  return {
    ...(on
      ? {
          send: (message: SipMessage, target: Remote) => log[level]({ ...messageContext(message), remote: remoteText(target) }, 'sip sent'),
          recv: (message: SipMessage, remote: Remote) => log[level]({ ...messageContext(message), remote: remoteText(remote) }, 'sip received'),
        }
      : {}),
    error: (error: unknown) => log.error({ err: error }, 'stack error'),
    warn: (message: string) => log.warn({}, message),
  };
}
