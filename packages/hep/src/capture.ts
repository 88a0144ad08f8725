// HEP capture of a stack: an observer whose `capture` hook turns every SIP message a transport
// receives or sends into a HEP3 packet (addresses, protocol, time, capture node, auth key, the
// Call-ID as correlation id) and hands it to a sender. The SIP path pays for the encoding and one
// non-blocking send; a full queue drops the packet and counts it.
import type { Remote, SipStack, StackObserver } from '@sipts/core';
import { encodeHep } from './encode.js';
import { HepError } from './errors.js';
import { HepSender, type HepSenderOptions, type HepSenderStats } from './sender.js';

export interface HepCaptureOptions extends HepSenderOptions {
  /** HEP capture agent id (chunk 0x000c). Default 2001, heplify's default. */
  captureId?: number | undefined;
  /** HEP auth key / password (chunk 0x000e) the collector checks. Default none. */
  authKey?: string | undefined;
  /** Capture node name (chunk 0x0013). Default none. */
  nodeName?: string | undefined;
}

export interface HepCaptureStats extends HepSenderStats {
  /** Messages captured (each one packet, unless too large or unencodable). */
  captured: number;
  /** Messages not sent because their packet would exceed 65535 bytes, or an address was not an IP. */
  unencodable: number;
}

/** Scan no further than this for the Call-ID (a header section is at most 60480 bytes by default). */
const MAX_SCAN = 65536;

/**
 * The Call-ID of a raw SIP message (`Call-ID:` or compact `i:`, any case), or undefined. A byte
 * scan line by line up to the end of the header section; no regex, no string of the whole message.
 */
export function callIdOf(data: Uint8Array): string | undefined {
  const n = Math.min(data.length, MAX_SCAN);
  let i = data.indexOf(0x0a) + 1; // past the start line
  if (i <= 0) return undefined;
  while (i < n) {
    const c = data[i] as number;
    if (c === 0x0d || c === 0x0a) return undefined; // the empty line: end of the headers
    let j = -1;
    const lower = c | 0x20;
    if (lower === 0x69 /* i */) j = i + 1;
    else if (lower === 0x63 /* c */ && i + 7 <= n && matchesCallId(data, i)) j = i + 7;
    if (j > 0) {
      while (j < n && (data[j] === 0x20 || data[j] === 0x09)) j++;
      if (data[j] === 0x3a /* : */) {
        j++;
        while (j < n && (data[j] === 0x20 || data[j] === 0x09)) j++;
        let end = j;
        while (end < n && data[end] !== 0x0d && data[end] !== 0x0a) end++;
        while (end > j && (data[end - 1] === 0x20 || data[end - 1] === 0x09)) end--;
        return end > j ? Buffer.from(data.buffer, data.byteOffset + j, end - j).toString('utf8') : undefined;
      }
    }
    const next = data.indexOf(0x0a, i);
    if (next < 0) return undefined;
    i = next + 1;
  }
  return undefined;
}

const CALL_ID = [0x63, 0x61, 0x6c, 0x6c, 0x2d, 0x69, 0x64]; // "call-id"

function matchesCallId(data: Uint8Array, at: number): boolean {
  for (let k = 0; k < 7; k++) {
    const c = data[at + k] as number;
    if ((k === 4 ? c : c | 0x20) !== CALL_ID[k]) return false;
  }
  return true;
}

/** A HEP capture: the observer for `stack.observe()`, its counters, and its sender. */
export class HepCapture {
  readonly sender: HepSender;
  readonly #captureId: number;
  readonly #authKey: string | undefined;
  readonly #nodeName: string | undefined;
  readonly #detach: (() => void)[] = [];
  #captured = 0;
  #unencodable = 0;

  /** Throws `HepError` `ERR_INVALID_OPTION`. */
  constructor(options: HepCaptureOptions) {
    const captureId = options?.captureId ?? 2001;
    if (!Number.isInteger(captureId) || captureId < 0 || captureId > 0xffffffff) throw new HepError('ERR_INVALID_OPTION', 'options.captureId must be an integer in 0..4294967295');
    if (options.authKey !== undefined && typeof options.authKey !== 'string') throw new HepError('ERR_INVALID_OPTION', 'options.authKey must be a string');
    if (options.nodeName !== undefined && typeof options.nodeName !== 'string') throw new HepError('ERR_INVALID_OPTION', 'options.nodeName must be a string');
    this.#captureId = captureId;
    this.#authKey = options.authKey;
    this.#nodeName = options.nodeName;
    this.sender = new HepSender(options);
  }

  /** The hook for `stack.observe({ capture })` (bound: pass it as is). */
  readonly capture = (direction: 'in' | 'out', data: Uint8Array, remote: Remote): void => {
    this.#captured++;
    const local = remote.local;
    const localAddress = local?.address ?? (remote.address.includes(':') ? '::' : '0.0.0.0');
    const localPort = local?.port ?? 0;
    const inbound = direction === 'in';
    let packet: Uint8Array | undefined;
    try {
      packet = encodeHep({
        protocol: remote.protocol,
        sourceAddress: inbound ? remote.address : localAddress,
        sourcePort: inbound ? remote.port : localPort,
        destinationAddress: inbound ? localAddress : remote.address,
        destinationPort: inbound ? localPort : remote.port,
        time: performance.timeOrigin + performance.now(),
        captureId: this.#captureId,
        authKey: this.#authKey,
        nodeName: this.#nodeName,
        correlationId: callIdOf(data),
        payload: data,
      });
    } catch {
      packet = undefined;
    }
    if (packet === undefined) {
      this.#unencodable++;
      return;
    }
    this.sender.send(packet);
  };

  stats(): HepCaptureStats {
    return { ...this.sender.stats(), captured: this.#captured, unencodable: this.#unencodable };
  }

  /** Capture every message of `stack` (any number of stacks may share one capture). Returns this. */
  attach(stack: Pick<SipStack, 'observe'>): this {
    const observer: StackObserver = { capture: this.capture };
    this.#detach.push(stack.observe(observer));
    return this;
  }

  /** Detach from every stack, drop what waits, close the sockets. */
  close(): Promise<void> {
    for (const detach of this.#detach.splice(0)) detach();
    return this.sender.close();
  }
}

/**
 * Capture every SIP message of `stack` to a HEP collector: `new HepCapture(options).attach(stack)`.
 * `close()` detaches it and closes its socket.
 */
export function captureHep(stack: Pick<SipStack, 'observe'>, options: HepCaptureOptions): HepCapture {
  return new HepCapture(options).attach(stack);
}
