// One bridged call: the caller's leg (A) and the leg the B2BUA made for it (B), each a dialog with
// its own Call-ID, tags and branches. setup.ts tries the targets and answers A; from then on the
// legs' in-dialog traffic goes through relay.ts (offers, INFO, MESSAGE...) and refer.ts (REFER),
// and either leg ending ends the other: a BYE on one side is relayed as a BYE on the other (with
// the relayed headers of the first, e.g. its Reason), a leg that died (no ACK, session timer
// expiry, 408/481 to an in-dialog request) ends the other with BYE and an RFC 3326 Reason, and so
// does maxCallDuration.
import { randomUUID } from 'node:crypto';
import type { ServerReply } from '@sipts/core';
import { isDialogError } from '@sipts/dialog';
import type { Dialog, IncomingCall, SdpContext, SdpRefusal as DialogRefusal, TerminationReason } from '@sipts/dialog';
import type { Remote, SipHeaders, SipMessage, SipRequest, SipResponse } from '@sipts/message';
import type { ClockHandle } from '@sipts/transaction';
import { B2buaError } from './errors.js';
import { copyHeaders, originLine, reasonHeader } from './headers.js';
import { Leg, type LegOwner } from './leg.js';
import type { NormalizedCallOptions } from './options.js';
import { handleRefer } from './refer.js';
import { relayOffer, relayOfferless, relayRequest, takeOfferless } from './relay.js';
import type { CallHost, OfferlessRelay, SetupHost } from './roles.js';
import { CallSetup } from './setup.js';
import type { CallEndEvent, CallOutcome, CallStateName, LegInfo, LegSide, RelayContext, SdpHook, SdpRefusal } from './types.js';

type HookResult = string | DialogRefusal;

const NOT_ACCEPTABLE: DialogRefusal = { status: 488 };

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function toRefusal(value: unknown): SdpRefusal | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const status = (value as { status?: unknown }).status;
  return typeof status === 'number' && Number.isInteger(status) && status >= 300 && status <= 699 ? (value as SdpRefusal) : undefined;
}

/** How an unanswered call ended, from why it ended and the status the caller got. */
function outcomeOf(reason: CallEndEvent['reason'], status: number | undefined): CallOutcome {
  if (reason === 'cancelled' || reason === 'remote-bye') return 'cancelled';
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480 || reason === 'timeout') return 'no-answer';
  if (reason === 'error' || reason === 'stopped' || reason === 'prack-timeout' || status === undefined) return 'failed';
  return 'rejected';
}

/** The RFC 3326 Reason a BYE carries to the other leg when a leg died instead of hanging up. */
function deathReason(reason: TerminationReason): SipHeaders | undefined {
  switch (reason.cause) {
    case 'ack-timeout':
      return { reason: reasonHeader(408, 'ACK Timeout') };
    case 'session-expired':
      return { reason: reasonHeader(408, 'Session Timer Expired') };
    case 'request-failed':
      return { reason: reasonHeader(reason.status ?? 408, reason.status === 481 ? 'Call Leg Gone' : 'Request Timeout') };
    case 'stopped':
      return { reason: reasonHeader(503, 'Service Unavailable') };
    default:
      return undefined;
  }
}

export class B2buaCall implements SetupHost, LegOwner {
  /** The call's id: the A leg's Call-ID. */
  readonly id: string;
  readonly incoming: IncomingCall;
  /** @internal */
  readonly options: NormalizedCallOptions;
  /** @internal */
  readonly host: CallHost;
  data: unknown;
  /** When the call was answered (the UA's clock), if it was. */
  answeredAt: number | undefined;
  /** @internal An offerless re-INVITE relayed to the other leg, waiting for that leg's offer. */
  offerless: OfferlessRelay | undefined;
  #state: CallStateName = 'routing';
  /** The two ends of the bridge: `a` starts as the caller's leg, `b` as the B leg; a transfer replaces either. */
  #a: Leg;
  #b: Leg | undefined;
  #setup: CallSetup | undefined;
  #acceptance: Promise<Dialog> | undefined;
  #durationTimer: ClockHandle | undefined;
  #ackWaiter: { leg: Leg; resolve: (ack: SipRequest | undefined) => void } | undefined;
  /** What hangup() asked the caller to be answered, before the answer. */
  #rejectWith: { status: number; reason: string | undefined } | undefined;
  readonly #onMaxDuration = (): void => {
    this.#durationTimer = undefined;
    this.host.count('maxDurationReached');
    this.end(undefined, 'max-duration', undefined, { reason: reasonHeader(408, 'Maximum Call Duration') });
  };

  /** @internal made by B2bua.bridge(). */
  constructor(host: CallHost, incoming: IncomingCall, options: NormalizedCallOptions) {
    this.host = host;
    this.incoming = incoming;
    this.options = options;
    this.data = options.data;
    this.id = incoming.callId;
    this.#a = new Leg(this, host, 'a', `${incoming.callId};${incoming.fromTag}`, incoming.callId, incoming.callId, undefined);
  }

  get state(): CallStateName {
    return this.#state;
  }

  /** The leg on the caller's side of the bridge (the caller's, unless a transfer replaced it). */
  get a(): LegInfo {
    return this.#a;
  }

  /** The leg on the callee's side (the B leg being tried, or the one that answered). */
  get b(): LegInfo | undefined {
    return this.#b;
  }

  /** @internal starts the call: legStart for A, then the targets one after the other. */
  start(targets: readonly string[]): void {
    this.host.legStateChanged(this.#a, undefined);
    const setup = new CallSetup(this, targets);
    this.#setup = setup;
    setup.run();
  }

  /**
   * Ends the call from the application: an unanswered caller gets `status` (default 480) and a B
   * leg still ringing a CANCEL; the answered legs get BYE (with `headers`, e.g. a Reason).
   */
  hangup(options: { status?: number | undefined; reason?: string | undefined; headers?: SipHeaders | undefined } = {}): void {
    const status = options.status ?? 480;
    if (!Number.isInteger(status) || status < 300 || status > 699) throw new B2buaError('ERR_INVALID_OPTION', 'hangup() status must be 300-699');
    this.#rejectWith = { status, reason: options.reason };
    this.end(undefined, 'hangup', this.#state === 'answered' ? undefined : status, options.headers);
  }

  // ------------------------------------------------------------------ CallCore / SetupHost

  /** @internal */
  get aLeg(): Leg {
    return this.#a;
  }

  /** @internal */
  get bLeg(): Leg | undefined {
    return this.#b;
  }

  /** @internal */
  get acceptance(): Promise<Dialog> | undefined {
    return this.#acceptance;
  }

  /** @internal */
  isEnded(): boolean {
    return this.#state === 'ended';
  }

  /** @internal */
  setB(leg: Leg): void {
    this.#b = leg;
  }

  /** @internal */
  peerOf(leg: Leg): Leg | undefined {
    return leg === this.#a ? this.#b : leg === this.#b ? this.#a : undefined;
  }

  /** @internal */
  slotOf(leg: Leg): LegSide {
    return leg === this.#a ? 'a' : 'b';
  }

  /** @internal */
  context(from: Leg | LegSide, method: string, message: SipMessage | undefined, initial: boolean): RelayContext {
    const side = typeof from === 'string' ? from : this.slotOf(from);
    return { call: this, from: side, to: side === 'a' ? 'b' : 'a', method, message, initial };
  }

  /** @internal */
  mapSdp(hook: SdpHook | undefined, sdp: string, from: Leg | LegSide, method: string, message: SipMessage | undefined, initial: boolean): string | SdpRefusal | Promise<string | SdpRefusal> {
    if (hook === undefined) return sdp;
    let result: ReturnType<SdpHook>;
    try {
      result = hook(sdp, this.context(from, method, message, initial));
    } catch (e) {
      this.host.report(new B2buaError('ERR_HOOK', 'an SDP hook threw', { cause: e }));
      return { status: 500 };
    }
    if (!isThenable<string | SdpRefusal | undefined>(result)) return result === undefined ? sdp : typeof result === 'string' ? result : (toRefusal(result) ?? NOT_ACCEPTABLE);
    return Promise.resolve(result).then(
      (r) => (r === undefined ? sdp : typeof r === 'string' ? r : (toRefusal(r) ?? NOT_ACCEPTABLE)),
      (e: unknown) => {
        this.host.report(new B2buaError('ERR_HOOK', 'an SDP hook rejected', { cause: e }));
        return { status: 500 };
      },
    );
  }

  /** @internal */
  relayedHeaders(source: SipMessage | undefined, from: Leg | LegSide, method: string, initial: boolean, extra?: SipHeaders | undefined): SipHeaders | undefined {
    let headers = source === undefined ? undefined : copyHeaders(source.headers, this.options.relayHeaders, undefined);
    if (extra !== undefined) {
      headers ??= {};
      for (const name of Object.keys(extra)) headers[name] = extra[name];
    }
    const context = this.options.headersToA === undefined && this.options.headersToB === undefined ? undefined : this.context(from, method, source, initial);
    const hook = context === undefined ? undefined : context.to === 'a' ? this.options.headersToA : this.options.headersToB;
    if (hook !== undefined && context !== undefined) {
      headers ??= {};
      try {
        hook(headers, context);
      } catch (e) {
        this.host.report(new B2buaError('ERR_HOOK', 'a header hook threw', { cause: e }));
      }
    }
    return headers;
  }

  /** @internal */
  newLeg(target: string): Leg {
    // randomUUID() draws from a cached pool of random bytes: 122 random bits without a call into OpenSSL per leg.
    const callId = randomUUID();
    const leg = new Leg(this, this.host, 'b', callId, callId, this.id, target);
    this.host.count('legsCreated');
    this.host.legStateChanged(leg, undefined);
    return leg;
  }

  /** @internal */
  replaceLeg(old: Leg, next: Leg): void {
    if (old === this.#a) this.#a = next;
    else if (old === this.#b) this.#b = next;
  }

  /** @internal */
  track(leg: Leg, dialog: Dialog): void {
    if (leg.dialog !== undefined) this.host.trackDialog(leg, false);
    leg.attach(dialog);
    this.host.trackDialog(leg, true);
  }

  /** @internal */
  early(status: number): void {
    if (this.#state === 'routing') this.#state = 'early';
    const dialog = this.incoming.dialog;
    if (dialog !== undefined && this.#a.dialog === undefined) this.track(this.#a, dialog);
    this.#a.setState('early', status);
  }

  /** @internal */
  accept(sdp: string | undefined, headers: SipHeaders | undefined, ok: SipResponse | undefined): Promise<Dialog> {
    const acceptance = this.incoming.accept({ sdp, headers });
    this.#acceptance = acceptance;
    const state = this.incoming.state;
    if (state === 'accepted' || state === 'accepting') {
      this.#state = 'answered';
      this.answeredAt = this.host.clock.now();
      const max = this.options.maxCallDuration;
      if (max > 0) this.#durationTimer = this.host.clock.setTimeout(this.#onMaxDuration, max);
      const dialog = this.incoming.dialog;
      if (dialog !== undefined && this.#a.dialog !== dialog) this.track(this.#a, dialog);
      this.#a.setState('confirmed', ok?.status ?? 200);
    }
    acceptance.then(undefined, (e: unknown) => {
      // No ACK: the A dialog's end says so (ack-timeout). Otherwise the caller left first.
      const code = isDialogError(e) ? e.code : undefined;
      if (code !== 'ERR_NO_ACK' && code !== 'ERR_TERMINATED') {
        this.#a.end(code === 'ERR_CANCELLED' ? 'cancelled' : 'error', 487);
        this.end(this.#a, code === 'ERR_CANCELLED' ? 'cancelled' : 'error', 487);
      }
    });
    return acceptance;
  }

  /** @internal */
  end(endedBy: Leg | undefined, reason: CallEndEvent['reason'], status: number | undefined, extra?: SipHeaders | undefined): void {
    if (this.#state === 'ended') return;
    const answered = this.#state === 'answered';
    this.#state = 'ended';
    if (this.#durationTimer !== undefined) this.host.clock.clearTimeout(this.#durationTimer);
    this.#durationTimer = undefined;
    this.#setup?.cancel();
    const incoming = this.incoming;
    if (incoming.state === 'ringing' || incoming.state === 'accepting') {
      // The caller is not answered yet: it gets the final response (its signal CANCELs B).
      const reject = this.#rejectWith ?? { status: status !== undefined && status >= 300 ? status : 480, reason: undefined };
      incoming.reject(reject.status, { reason: reject.reason });
      this.#a.end('rejected', reject.status);
    }
    const source = endedBy?.bye;
    for (const leg of [this.#a, this.#b]) {
      if (leg === undefined || leg === endedBy) continue;
      const dialog = leg.live;
      if (dialog !== undefined && dialog.state === 'confirmed') {
        const headers = this.relayedHeaders(source, endedBy ?? (leg === this.#a ? 'b' : 'a'), 'BYE', false, extra);
        this.host.byeSent(dialog.bye({ headers }).catch((e: unknown) => this.host.report(e)));
        leg.end('local-bye');
      }
    }
    this.host.callEnded(this, {
      callId: this.id,
      outcome: answered ? 'answered' : outcomeOf(reason, status),
      status,
      reason,
      endedBy: endedBy === undefined ? 'b2bua' : this.slotOf(endedBy),
      duration: this.answeredAt === undefined ? undefined : this.host.clock.now() - this.answeredAt,
    });
  }

  // ------------------------------------------------------------------ LegOwner

  /** @internal */
  offerFrom(leg: Leg, dialog: Dialog, offer: string, context: SdpContext): HookResult | Promise<HookResult> {
    const setup = this.#setup;
    if (context.initial && context.response !== undefined && leg === this.#b && setup !== undefined && this.#state !== 'answered' && this.#state !== 'ended') {
      return setup.lateOffer(leg, offer, context.response);
    }
    const relay = this.offerless;
    if (relay !== undefined && relay.to === leg && context.response !== undefined) return takeOfferless(this, relay, offer, context.response);
    if (dialog !== leg.dialog) return NOT_ACCEPTABLE;
    // A session refresh (the last offer again, same o= line, RFC 3264 §8, RFC 4028): this hop answers it.
    const local = dialog.localSdp;
    if (local !== undefined && originLine(offer) === originLine(dialog.remoteSdp)) return local;
    return relayOffer(this, leg, offer, context);
  }

  /** @internal */
  offerWanted(leg: Leg, dialog: Dialog, context: SdpContext): string | undefined | Promise<string | undefined> {
    if (dialog !== leg.dialog) return dialog.localSdp;
    return relayOfferless(this, leg, context);
  }

  /** @internal */
  requestFrom(leg: Leg, request: SipRequest, _remote: Remote, reply: ServerReply): void {
    if (request.method === 'REFER') handleRefer(this, leg, request, reply);
    else relayRequest(this, leg, request, reply);
  }

  /** @internal */
  dialogEnded(leg: Leg, dialog: Dialog, reason: TerminationReason): void {
    if (leg.dialog !== dialog) return;
    this.host.trackDialog(leg, false);
    if (this.#ackWaiter?.leg === leg) this.#resolveAck(undefined);
    const cause = reason.cause;
    // The INVITE's own outcome (setup handles it), or an early dialog of another fork.
    if (cause === 'fork-discarded' || cause === 'rejected' || cause === 'cancelled') return;
    if (leg.ended) return;
    leg.end(cause, reason.status);
    if (cause === 'prack-timeout') this.end(leg, cause, 504);
    else this.end(leg, cause, reason.status, deathReason(reason));
  }

  /** @internal */
  ackReceived(leg: Leg, ack: SipRequest): void {
    if (this.#ackWaiter?.leg === leg) this.#resolveAck(ack);
  }

  /** @internal */
  waitAck(leg: Leg): Promise<SipRequest | undefined> {
    this.#resolveAck(undefined);
    leg.watchAcks();
    return new Promise((resolve) => (this.#ackWaiter = { leg, resolve }));
  }

  #resolveAck(ack: SipRequest | undefined): void {
    const waiter = this.#ackWaiter;
    this.#ackWaiter = undefined;
    waiter?.resolve(ack);
  }
}
