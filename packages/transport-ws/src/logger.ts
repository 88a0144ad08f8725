// The `sip`-style logger hook, and the only way this package calls it: a logger that throws
// must never escape from a socket or timer callback (it would crash the process), so every
// call goes through one of the functions below.
import type { Remote, SipMessage } from '@sipts/message';

/** The `sip`-style logger hook. Every method is optional and its exceptions are swallowed. */
export interface WsTransportLogger {
  /** Called with the bytes about to be sent and their target. */
  send?(data: Uint8Array | string, target: Remote): void;
  /** Called with each valid message before it is emitted. */
  recv?(message: SipMessage, remote: Remote): void;
  /** Dropped frames, refused upgrades, connection and server errors. */
  error?(error: Error): void;
}

/**
 * Raw-bytes capture (HEP, pcap-like tools): every valid SIP message received and every message
 * sent, with the flow (`remote.local` is our end once open). Off (undefined) by default; then it
 * costs one check per message. Exceptions thrown by it are swallowed.
 */
export type WsCaptureHook = (direction: 'in' | 'out', data: Uint8Array, remote: Remote) => void;

export function callCapture(hook: WsCaptureHook, direction: 'in' | 'out', data: Uint8Array | string, remote: Remote): void {
  try {
    hook(direction, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, remote);
  } catch {
    // A broken capture hook must not break the transport.
  }
}

export function logSend(logger: WsTransportLogger | undefined, data: Uint8Array | string, target: Remote): void {
  if (logger === undefined) return;
  try {
    logger.send?.(data, target);
  } catch {
    // A broken logger must not break the transport.
  }
}

export function logRecv(logger: WsTransportLogger | undefined, message: SipMessage, remote: Remote): void {
  if (logger === undefined) return;
  try {
    logger.recv?.(message, remote);
  } catch {
    // A broken logger must not break the transport.
  }
}

export function logError(logger: WsTransportLogger | undefined, error: Error): void {
  if (logger === undefined) return;
  try {
    logger.error?.(error);
  } catch {
    // A broken logger must not break the transport.
  }
}
