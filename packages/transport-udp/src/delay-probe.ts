// How long a datagram waits before this process reads it: kernel receive queue plus event-loop
// delay, measured end to end by sending a small probe datagram to our own socket and timing its
// arrival. This is the figure that decides whether a peer retransmits (RFC 3261 Timers A/E
// start at T1 = 500 ms), so a stack sheds load on it (see @sipts/core "Overload"). The probe is
// 21 bytes: 0x02 (never the first byte of SIP text or of STUN, whose top bits are 00), a
// 16-byte secret of this transport (an outsider cannot forge a sample) and a sequence number.
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

const PROBE_BYTES = 21;
const PROBE_MARK = 0x02;

/** At most this many probes in flight; an older one is given up when a newer one is sent. */
const MAX_IN_FLIGHT = 8;
/**
 * A probe out this long gets a successor. A full receive queue drops datagrams, the probe among
 * them: without a successor the age of a lost probe would grow for ever and the stack would
 * never see the queue drain.
 */
const RESEND_AFTER_MS = 1000;

export class DelayProbe {
  readonly #secret = randomBytes(16);
  #socket: Socket | undefined;
  #seq = 0;
  /** Probes in flight, oldest first: sequence numbers and when each was sent. */
  readonly #seqs: number[] = [];
  readonly #sentAt: number[] = [];
  #last = 0;

  /**
   * Sends a probe to `address:port` (our own socket) unless a recent one is still in flight.
   * Returns the current delay estimate in ms: the last measured one, or the age of the oldest
   * probe in flight when that is larger (a backlog shows before the probe gets through it).
   */
  tick(address: string, port: number, type: 'udp4' | 'udp6', now: number): number {
    const inFlight = this.#seqs.length;
    if (inFlight > 0 && now - (this.#sentAt[inFlight - 1] as number) < RESEND_AFTER_MS) return this.#estimate(now);
    let socket = this.#socket;
    if (socket === undefined) {
      socket = createSocket(type);
      socket.on('error', () => this.close());
      socket.unref();
      this.#socket = socket;
    }
    const seq = (this.#seq = (this.#seq + 1) >>> 0);
    const packet = Buffer.allocUnsafe(PROBE_BYTES);
    packet[0] = PROBE_MARK;
    this.#secret.copy(packet, 1);
    packet.writeUInt32BE(seq, 17);
    try {
      socket.send(packet, port, address);
    } catch {
      return this.#estimate(now);
    }
    if (inFlight >= MAX_IN_FLIGHT) {
      this.#seqs.shift();
      this.#sentAt.shift();
    }
    this.#seqs.push(seq);
    this.#sentAt.push(now);
    return this.#estimate(now);
  }

  #estimate(now: number): number {
    return this.#seqs.length === 0 ? this.#last : Math.max(this.#last, now - (this.#sentAt[0] as number));
  }

  /** True (and the sample taken) when `data` is our probe; false for anything else. */
  receive(data: Uint8Array, now: number): boolean {
    if (data.length !== PROBE_BYTES || data[0] !== PROBE_MARK) return false;
    for (let i = 0; i < 16; i++) if (data[1 + i] !== this.#secret[i]) return false;
    const seq = ((data[17] as number) << 24 | (data[18] as number) << 16 | (data[19] as number) << 8 | (data[20] as number)) >>> 0;
    const at = this.#seqs.indexOf(seq);
    if (at >= 0) {
      this.#last = now - (this.#sentAt[at] as number);
      // A socket's queue is first in, first out: the probes sent before this one were dropped.
      this.#seqs.splice(0, at + 1);
      this.#sentAt.splice(0, at + 1);
    }
    return true;
  }

  close(): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#seqs.length = 0;
    this.#sentAt.length = 0;
    try {
      socket?.close();
    } catch {
      // already closed
    }
  }
}

/** True when `data` may be a delay probe (checked fully by DelayProbe.receive). */
export function isProbe(data: Uint8Array): boolean {
  return data.length === PROBE_BYTES && data[0] === PROBE_MARK;
}
