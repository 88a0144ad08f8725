// The UA: a dialog table on a @sipts/core stack. It takes the stack's INVITEs and in-dialog
// requests (matched by Call-ID and tags, RFC 3261 §12.2.2: 481 when no dialog matches), answers
// CANCEL for the INVITEs it holds (§9.2), checks Require (§8.2.2.3: 420), merged requests
// (§8.2.2.2: 482), 100rel and session-timer policy, and its limits, and leaves other
// out-of-dialog requests to the application (`request` event, or `handle()` in a chain).
import { EventEmitter } from 'node:events';
import type { ServerReply, SipStack } from '@sipts/core';
import { makeResponse, parseUri, stringifyUri } from '@sipts/message';
import type { Remote, SipRequest, SipUri } from '@sipts/message';
import { Dialog } from './dialog.js';
import { dialogKey, type DialogInit } from './dialog-state.js';
import { DialogError } from './errors.js';
import { hasToken, tagOf, tokens } from './headers.js';
import { normalizeUaOptions, type NormalizedUaOptions, type UaOptions } from './options.js';
import type { CancelTarget, DialogHost } from './roles.js';
import { decideAsUas } from './session-timer.js';
import { restoreInit, restoreSession } from './snapshot.js';
import { TimerHeap } from './timers.js';
import type { DialogSnapshot } from './types.js';
import { OutgoingInvite, type InviteOptions, type UacHost } from './uac.js';
import { IncomingCall, type UasHost } from './uas.js';

export interface UaEvents {
  /** A new INVITE (not a re-INVITE): answer it with `call.progress()`, `accept()` or `reject()`. */
  invite: [call: IncomingCall];
  /** A dialog was created (early or confirmed, either side, or restored). */
  dialog: [dialog: Dialog];
  /**
   * An out-of-dialog request other than INVITE and CANCEL (OPTIONS, MESSAGE, SUBSCRIBE...), or an
   * in-dialog one for no dialog of ours that the UA leaves alone (NOTIFY, REFER...). Without a
   * listener: OPTIONS 200, REGISTER/SUBSCRIBE/NOTIFY/PUBLISH/MESSAGE/REFER 405, others 481/501.
   */
  request: [request: SipRequest, remote: Remote, reply: ServerReply];
  /** A hook or listener threw, or a send failed with nobody to tell. Emitted only when listened to. */
  error: [error: Error];
}

export interface UaStats {
  /** Dialogs in the table (early ones included). */
  dialogs: number;
  /** Incoming INVITEs without a final response yet. */
  incoming: number;
  /** Timer slots scheduled. */
  timers: number;
  dialogsCreated: number;
  dialogsTerminated: number;
  /** In-dialog requests answered 481 (no such dialog). */
  unknownDialog: number;
  /** INVITEs refused for capacity (503). */
  overloadRejected: number;
}

/** Methods that only make sense within a dialog of ours: a tagged one with no dialog gets 481. */
const DIALOG_METHODS = new Set(['INVITE', 'BYE', 'UPDATE', 'PRACK', 'INFO']);
const NOT_ALLOWED = new Set(['REGISTER', 'SUBSCRIBE', 'NOTIFY', 'PUBLISH', 'MESSAGE', 'REFER']);
const TRANSPORTS = new Set(['UDP', 'TCP', 'TLS', 'WS', 'WSS']);

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

export class DialogUA extends EventEmitter<UaEvents> implements DialogHost<Dialog>, UasHost, UacHost {
  readonly stack: SipStack;
  readonly options: NormalizedUaOptions<Dialog>;
  /** @internal the one timer heap of every dialog of this UA. */
  readonly timers: TimerHeap;
  /** Allow header value of our requests and responses. */
  readonly allow: string;
  /** Supported header value ('' for none). */
  readonly supported: string;
  readonly #dialogs = new Map<string, Dialog>();
  /** INVITE server transactions a CANCEL may target (incoming calls, re-INVITEs). */
  readonly #pendingInvites = new Map<object, CancelTarget>();
  /** Incoming calls by Call-ID, From tag and CSeq (RFC 3261 §8.2.2.2 merged requests). */
  readonly #incoming = new Map<string, IncomingCall>();
  readonly #contacts = new Map<string, string>();
  readonly #listener = (rq: SipRequest, remote: Remote, reply: ServerReply): void => this.#onRequest(rq, remote, reply);
  readonly #counters = { dialogsCreated: 0, dialogsTerminated: 0, unknownDialog: 0, overloadRejected: 0 };
  #closed = false;

  constructor(stack: SipStack, options: UaOptions<Dialog> = {}) {
    super();
    if (typeof stack !== 'object' || stack === null || typeof stack.send !== 'function') {
      throw new DialogError('ERR_INVALID_OPTION', 'createUA() needs a @sipts/core stack');
    }
    this.stack = stack;
    this.options = normalizeUaOptions(options);
    this.timers = new TimerHeap(this.options.clock, (e) => this.report(e));
    const rel = this.options.rel100 !== 'disabled';
    const timer = this.options.sessionTimer !== undefined;
    this.allow = `INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, MESSAGE, NOTIFY, REFER${rel ? ', PRACK' : ''}`;
    this.supported = [rel ? '100rel' : '', timer ? 'timer' : ''].filter((s) => s !== '').join(', ');
    if (this.options.attach) stack.on('request', this.#listener);
  }

  /** Dialogs in the table (early ones included). */
  get size(): number {
    return this.#dialogs.size;
  }

  /** The dialog with this id (`dialog.id`), if any. */
  dialog(id: string): Dialog | undefined {
    return this.#dialogs.get(id);
  }

  /** Every dialog in the table. */
  dialogs(): IterableIterator<Dialog> {
    return this.#dialogs.values();
  }

  stats(): UaStats {
    return { dialogs: this.#dialogs.size, incoming: this.#incoming.size, timers: this.timers.size, ...this.#counters };
  }

  /**
   * Calls `target` (RFC 3261 §13.2) and resolves with the confirmed dialog once the 2xx is ACKed.
   * Rejects with ERR_REJECTED (a final non-2xx: `error.response`), ERR_ABORTED (the signal fired:
   * CANCEL sent), ERR_INVALID_TARGET, ERR_TOO_MANY_DIALOGS, ERR_STOPPED.
   */
  invite(target: string | SipUri, options: InviteOptions = {}): Promise<Dialog> {
    const p = new Promise<Dialog>((resolve, reject) => {
      if (this.#closed) return reject(new DialogError('ERR_STOPPED', 'the UA is closed'));
      const parsed = parseUri(target);
      const scheme = parsed?.schema.toLowerCase();
      if (parsed === undefined || (scheme !== 'sip' && scheme !== 'sips') || parsed.host === '') {
        return reject(new DialogError('ERR_INVALID_TARGET', `not a SIP URI: ${String(typeof target === 'string' ? target : stringifyUri(target))}`));
      }
      if (!this.canAddDialog()) return reject(new DialogError('ERR_TOO_MANY_DIALOGS', `maxDialogs (${this.options.maxDialogs}) reached`));
      if (options.signal?.aborted) return reject(new DialogError('ERR_ABORTED', 'the INVITE was aborted before it was sent'));
      new OutgoingInvite(this, typeof target === 'string' ? target : stringifyUri(target), parsed, options, resolve, reject).start();
    });
    p.catch(() => {});
    return p;
  }

  /**
   * Takes a request from the stack if it is the UA's: an INVITE (when `invite` is listened to),
   * a CANCEL for an INVITE the UA holds, a request within one of its dialogs, or a dialog request
   * for a dialog it does not know (481). Returns false for anything else, for the next handler.
   */
  handle(rq: SipRequest, remote: Remote, reply: ServerReply): boolean {
    if (this.#closed) return false;
    const h = rq.headers;
    const method = rq.method;
    if (method === 'CANCEL') {
      const invite = reply.transaction?.invite;
      if (invite === undefined) return false;
      const target = this.#pendingInvites.get(invite);
      // RFC 3261 §9.2: 200 to the CANCEL; the INVITE gets 487 unless answered already.
      if (target === undefined && !invite.finalSent) return false;
      reply.reply(makeResponse(rq, 200));
      target?.cancelled();
      return true;
    }
    const toTag = tagOf(h.to);
    if (toTag !== undefined) {
      const fromTag = tagOf(h.from) ?? '';
      const dialog = this.#dialogs.get(dialogKey(h['call-id'] as string, toTag, fromTag));
      if (dialog !== undefined) {
        dialog.receive(rq, remote, reply);
        return true;
      }
      if (!DIALOG_METHODS.has(method)) return false;
      // RFC 3261 §12.2.2: no dialog matches.
      this.#counters.unknownDialog++;
      reply.reply(makeResponse(rq, 481));
      return true;
    }
    if (method !== 'INVITE' || this.listenerCount('invite') === 0) return false;
    this.#incomingInvite(rq, remote, reply);
    return true;
  }

  /**
   * Restores a dialog from `dialog.toJSON()` (this process or another one): it answers in-dialog
   * requests again, and its session timer runs on for the time it had left. Throws
   * ERR_INVALID_SNAPSHOT for anything else than a confirmed dialog's snapshot, or one already here.
   */
  restore(snapshot: DialogSnapshot): Dialog {
    if (this.#closed) throw new DialogError('ERR_STOPPED', 'the UA is closed');
    const init = restoreInit(snapshot);
    if (this.#dialogs.has(dialogKey(init.callId, init.localTag, init.remoteTag))) {
      throw new DialogError('ERR_INVALID_SNAPSHOT', 'a dialog with this id is already in the table');
    }
    const dialog = this.createDialog(init);
    try {
      restoreSession(dialog, snapshot);
    } catch (e) {
      dialog.terminate({ cause: 'stopped' });
      throw e;
    }
    return dialog;
  }

  /**
   * Stops taking requests. `bye: true` ends every confirmed dialog with BYE (resolves when they
   * are answered); otherwise dialogs just end (`stopped`), e.g. after toJSON() for a hand-over.
   * Incoming calls still ringing get 503. The stack is left running.
   */
  async close(options: { bye?: boolean | undefined } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.stack.off('request', this.#listener);
    for (const call of [...this.#incoming.values()]) call.reject(503);
    const byes: Promise<unknown>[] = [];
    for (const dialog of [...this.#dialogs.values()]) {
      if (options.bye === true && dialog.state === 'confirmed') byes.push(dialog.hangup({ cause: 'stopped' }));
      else dialog.terminate({ cause: 'stopped' });
    }
    await Promise.all(byes);
    this.timers.clear();
  }

  // ------------------------------------------------------------------ hosts for dialogs and calls

  /** @internal */
  createDialog(init: DialogInit, register = true): Dialog {
    const dialog = new Dialog(this, init);
    this.#counters.dialogsCreated++;
    if (register) this.#dialogs.set(dialog.id, dialog);
    if (this.listenerCount('dialog') > 0) {
      try {
        this.emit('dialog', dialog);
      } catch (e) {
        this.report(e);
      }
    }
    return dialog;
  }

  /** @internal */
  canAddDialog(): boolean {
    return this.#dialogs.size + this.#incoming.size < this.options.maxDialogs;
  }

  /** @internal */
  dialogEnded(dialog: Dialog): void {
    this.#counters.dialogsTerminated++;
    if (this.#dialogs.get(dialog.id) === dialog) this.#dialogs.delete(dialog.id);
  }

  /** @internal */
  trackInvite(reply: ServerReply, target: CancelTarget | undefined): void {
    const tx = reply.transaction;
    if (tx === undefined) return;
    if (target === undefined) this.#pendingInvites.delete(tx);
    else this.#pendingInvites.set(tx, target);
  }

  /** @internal */
  incomingDone(call: IncomingCall): void {
    const key = mergeKey(call.callId, { fromTag: call.fromTag, seq: call.cseq });
    if (this.#incoming.get(key) === call) this.#incoming.delete(key);
    this.trackInvite(call.reply, undefined);
  }

  /** @internal our Contact URI for a transport. */
  contactFor(protocol: string): string {
    if (this.options.contact !== undefined) return this.options.contact;
    const p = protocol.toUpperCase();
    let contact = this.#contacts.get(p);
    if (contact === undefined) {
      const uri = TRANSPORTS.has(p)
        ? this.stack.localUri({ user: this.options.user, protocol: p as 'UDP' | 'TCP' | 'TLS' | 'WS' | 'WSS' })
        : this.stack.localUri({ user: this.options.user });
      contact = stringifyUri(uri);
      this.#contacts.set(p, contact);
    }
    return contact;
  }

  /** @internal */
  defaultFrom(): string {
    return this.options.from ?? `sip:${this.options.user}@${this.stack.sentBy()}`;
  }

  /** @internal */
  report(error: unknown): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', toError(error));
    } catch {
      // a throwing error listener must not break the UA
    }
  }

  // ------------------------------------------------------------------ incoming

  #onRequest(rq: SipRequest, remote: Remote, reply: ServerReply): void {
    if (this.handle(rq, remote, reply) || rq.method === 'ACK') return;
    if (this.listenerCount('request') > 0) {
      this.emit('request', rq, remote, reply);
      return;
    }
    const method = rq.method;
    if (method === 'OPTIONS') {
      // RFC 3261 §11.2: what we can do.
      reply.reply(makeResponse(rq, 200, undefined, { headers: this.#capabilities() }));
    } else if (method === 'CANCEL' || tagOf(rq.headers.to) !== undefined) reply.reply(makeResponse(rq, 481));
    else if (method === 'INVITE') reply.reply(makeResponse(rq, 480));
    else if (NOT_ALLOWED.has(method)) reply.reply(makeResponse(rq, 405, undefined, { headers: { allow: this.allow } }));
    else if (DIALOG_METHODS.has(method)) reply.reply(makeResponse(rq, 481));
    else reply.reply(makeResponse(rq, 501));
  }

  #capabilities(): Record<string, string> {
    const headers: Record<string, string> = { allow: this.allow, accept: 'application/sdp' };
    if (this.supported !== '') headers.supported = this.supported;
    return headers;
  }

  #incomingInvite(rq: SipRequest, remote: Remote, reply: ServerReply): void {
    const h = rq.headers;
    const o = this.options;
    // RFC 3261 §8.2.2.3: every option in Require must be ours.
    const unsupported = tokens(h.require).filter((t) => !((t === '100rel' && o.rel100 !== 'disabled') || (t === 'timer' && o.sessionTimer !== undefined)));
    if (unsupported.length > 0) {
      reply.reply(makeResponse(rq, 420, undefined, { headers: { unsupported: unsupported.join(', ') } }));
      return;
    }
    // RFC 3262 §3: a UAS that insists on reliable provisionals refuses a caller without them.
    if (o.rel100 === 'required' && !hasToken(h.supported, '100rel') && !hasToken(h.require, '100rel')) {
      reply.reply(makeResponse(rq, 421, undefined, { headers: { require: '100rel' } }));
      return;
    }
    const key = mergeKey(h['call-id'] as string, { fromTag: tagOf(h.from) ?? '', seq: h.cseq?.seq ?? 0 });
    if (this.#incoming.has(key)) {
      // RFC 3261 §8.2.2.2: the same request by another path (a fork that came back).
      reply.reply(makeResponse(rq, 482, 'Loop Detected', { toTag: true }));
      return;
    }
    if (!this.canAddDialog()) {
      this.#counters.overloadRejected++;
      reply.reply(makeResponse(rq, 503, undefined, { toTag: true, headers: { 'retry-after': '5' } }));
      return;
    }
    const timer = decideAsUas(rq, o.sessionTimer);
    if (timer.kind === 'reject') {
      // RFC 4028 §9: 422 with our Min-SE.
      reply.reply(makeResponse(rq, 422, undefined, { toTag: true, headers: { 'min-se': String(timer.minSE) } }));
      return;
    }
    const call = new IncomingCall(this, rq, remote, reply, timer);
    this.#incoming.set(key, call);
    this.trackInvite(reply, call);
    try {
      this.emit('invite', call);
    } catch (e) {
      this.report(e);
      if (call.state === 'ringing') call.reject(500);
    }
  }
}

/** Call-ID, From tag and CSeq: what a merged request shares with the first (RFC 3261 §8.2.2.2). */
function mergeKey(callId: string, ids: { fromTag: string; seq: number }): string {
  return `${callId} ${ids.fromTag} ${ids.seq}`;
}

/** A UA on `stack`: see DialogUA. */
export function createUA(stack: SipStack, options: UaOptions<Dialog> = {}): DialogUA {
  return new DialogUA(stack, options);
}

