// An OPTIONS prober (what Kamailio's dispatcher does with `ds_ping_interval`): each target is
// sent OPTIONS every `interval`; any real answer (whatever its status: a 404 or 483 proves the
// node is up) marks it up, `failures` timeouts or transport failures in a row mark it down.
// For applications that dispatch among nodes themselves.
import { EventEmitter } from 'node:events';
import { generateTag, parseUri, stringifyUri } from '@sipts/message';
import type { Remote, SipRequest, SipResponse, SipUri } from '@sipts/message';
import { SipCoreError } from './errors.js';

/** What the prober needs of a stack (a `SipStack` has it). */
export interface ProbeStack {
  send(request: SipRequest, callback?: (response: SipResponse, remote?: Remote) => void): void;
  localUri(options?: { user?: string }): SipUri;
}

export interface OptionsProberOptions {
  /** Time (ms) between two probes of a target. Default 5000. */
  interval?: number | undefined;
  /** Consecutive failed probes (timeout, transport error) before a target is down. Default 3. */
  failures?: number | undefined;
  /** From user of the probes. Default 'probe'. */
  user?: string | undefined;
}

export type ProbeState = 'unknown' | 'up' | 'down';

export interface OptionsProberEvents {
  up: [target: string];
  down: [target: string];
}

interface Probed {
  uri: string;
  state: ProbeState;
  failed: number;
  inFlight: boolean;
}

export class OptionsProber extends EventEmitter<OptionsProberEvents> {
  readonly #stack: ProbeStack;
  readonly #interval: number;
  readonly #failures: number;
  readonly #user: string;
  readonly #targets = new Map<string, Probed>();
  readonly #callId = generateTag();
  #seq = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(stack: ProbeStack, options: OptionsProberOptions = {}) {
    super();
    this.#stack = stack;
    const interval = options.interval ?? 5000;
    const failures = options.failures ?? 3;
    if (!(interval > 0)) throw new SipCoreError('ERR_INVALID_OPTION', 'interval must be a positive number of ms');
    if (!(Number.isInteger(failures) && failures > 0)) throw new SipCoreError('ERR_INVALID_OPTION', 'failures must be a positive integer');
    this.#interval = interval;
    this.#failures = failures;
    this.#user = options.user ?? 'probe';
  }

  /** Starts probing `target` (a SIP URI); probes it at once. */
  add(target: string | SipUri): void {
    const uri = typeof target === 'string' ? target : stringifyUri(target);
    if (parseUri(uri) === undefined) throw new SipCoreError('ERR_INVALID_OPTION', `${uri} is not a SIP URI`);
    if (this.#targets.has(uri)) return;
    const probed: Probed = { uri, state: 'unknown', failed: 0, inFlight: false };
    this.#targets.set(uri, probed);
    this.#probe(probed);
    if (this.#timer === undefined) {
      this.#timer = setInterval(() => {
        for (const p of this.#targets.values()) this.#probe(p);
      }, this.#interval);
      this.#timer.unref();
    }
  }

  remove(target: string): void {
    this.#targets.delete(target);
    if (this.#targets.size === 0) this.stop();
  }

  /** 'unknown' until the first probe settles. */
  state(target: string): ProbeState | undefined {
    return this.#targets.get(target)?.state;
  }

  /** The targets up now, in the order they were added. */
  up(): string[] {
    const out: string[] = [];
    for (const p of this.#targets.values()) if (p.state === 'up') out.push(p.uri);
    return out;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #probe(p: Probed): void {
    if (p.inFlight) return;
    p.inFlight = true;
    const from = this.#stack.localUri({ user: this.#user });
    const rq: SipRequest = {
      method: 'OPTIONS',
      uri: p.uri,
      headers: {
        to: { uri: p.uri, params: {} },
        from: { uri: from, params: { tag: generateTag() } },
        'call-id': this.#callId,
        cseq: { seq: ++this.#seq, method: 'OPTIONS' },
        'max-forwards': 70,
      },
      content: '',
    };
    try {
      this.#stack.send(rq, (response, remote) => {
        if (response.status < 200) return;
        p.inFlight = false;
        // A response the stack made up (remote undefined: timeout, transport error) is a failure.
        this.#settle(p, remote !== undefined);
      });
    } catch {
      p.inFlight = false;
      this.#settle(p, false);
    }
  }

  #settle(p: Probed, answered: boolean): void {
    if (!this.#targets.has(p.uri)) return;
    if (answered) {
      p.failed = 0;
      if (p.state !== 'up') {
        p.state = 'up';
        this.emit('up', p.uri);
      }
      return;
    }
    p.failed++;
    if (p.state !== 'down' && (p.failed >= this.#failures || p.state === 'unknown')) {
      p.state = 'down';
      this.emit('down', p.uri);
    }
  }
}
