// `sip.makeTransport(options, callback)`: the bare transport layer of sip@0.0.6, for programs
// that answer statelessly (sip's stateless-registrar-redirector example). No transactions: every
// valid message goes to `callback(message, remote)`; `send(target, message)` writes one message.
import { bracketHost, stringify, unbracket } from '@sipts/message';
import type { Remote, SipMessage } from '@sipts/message';
import type { Transport } from '@sipts/transaction';
import { normalizeOptions, pickSentByAddress, type StackOptions } from './options.js';
import type { TargetProtocol } from './resolver.js';
import { listenTransports } from './transports.js';

/** What `open`/`get` return, as in sip: `send(message)`, `release()`, `protocol`. */
export interface CompatConnection {
  readonly protocol: string;
  send(message: SipMessage): void;
  release(): void;
}

export interface CompatTransport {
  open(target: Remote, onError?: (error: Error) => void): CompatConnection;
  get(target: Remote, onError?: (error: Error) => void): CompatConnection;
  send(target: Remote, message: SipMessage): void;
  /** Resolves when every transport listens, with where. */
  ready(): Promise<Array<{ protocol: TargetProtocol; address: string; port: number }>>;
  destroy(): Promise<void>;
}

export function makeTransport(options: StackOptions, callback: (message: SipMessage, remote: Remote) => void): CompatTransport {
  const o = normalizeOptions(options);
  const logger = o.logger;
  const transports = new Map<TargetProtocol, Transport>();
  const report = (e: unknown): void => {
    try {
      logger.error?.(e);
    } catch {
      // ignore
    }
  };
  const ready = listenTransports(o, { error: report }, (protocol, transport) => {
    transports.set(protocol, transport);
    transport.on('error', report);
    transport.on('message', (message, remote) => {
      try {
        logger.recv?.(message, remote);
      } catch {
        // ignore
      }
      try {
        callback(message, remote);
      } catch (e) {
        report(e);
      }
    });
  });
  ready.catch(report);
  let sentBy = '127.0.0.1';
  void ready.then(
    () => {
      const bound = [...transports.values()][0]?.address()?.address;
      sentBy = pickSentByAddress(o.publicAddress, o.address ?? (bound !== undefined && bound !== '0.0.0.0' && bound !== '::' ? unbracket(bound) : undefined));
    },
    () => {},
  );

  function open(target: Remote, onError?: (error: Error) => void): CompatConnection {
    const protocol = target.protocol.toUpperCase() as TargetProtocol;
    return {
      protocol,
      send(message: SipMessage): void {
        void ready
          .then(() => {
            const transport = transports.get(protocol);
            if (transport === undefined) throw new Error(`no ${protocol} transport`);
            const via = message.headers.via?.[0];
            if ('method' in message && via !== undefined) {
              // As sip's transport did: the top Via of a request names this transport.
              via.host = bracketHost(sentBy);
              via.protocol = protocol;
              const port = transport.address()?.port;
              if (port !== undefined) via.port = port;
              if (protocol === 'UDP' && o.rport) via.params.rport = null;
            }
            try {
              logger.send?.(message, target);
            } catch {
              // ignore
            }
            return transport.send(stringify(message), target, { allowOversize: true });
          })
          .catch((e: unknown) => {
            report(e);
            if (onError) onError(e instanceof Error ? e : new Error(String(e)));
          });
      },
      release(): void {},
    };
  }

  return {
    open,
    get: open,
    send: (target, message) => open(target).send(message),
    ready: () =>
      ready.then(() =>
        [...transports].flatMap(([protocol, t]) => {
          const a = t.address();
          return a === undefined ? [] : [{ protocol, address: a.address, port: a.port }];
        }),
      ),
    destroy: async () => {
      await ready.catch(() => {});
      await Promise.all([...transports.values()].map((t) => t.close().catch(report)));
    },
  };
}
