// The state of one dialog that RFC 3261 §12 names (dialog id, local and remote sequence numbers,
// URIs, remote target, route set) as small strings of its own, and the in-dialog request built
// from it (§12.2.1.1). Kept apart from the behaviour so a snapshot is this object's fields.
import { EventEmitter } from 'node:events';
import type { ServerReply } from '@sipts/core';
import { parseRoute } from '@sipts/message';
import type { NameAddr, Remote, RouteAddr, SipHeaders, SipRequest } from '@sipts/message';
import type { SessionTimerState, TerminationReason } from './types.js';

/** Events of a Dialog. */
export interface DialogEvents {
  /**
   * An in-dialog request the dialog layer leaves to the application (INFO, MESSAGE, NOTIFY, REFER,
   * OPTIONS, any other method): answer it through `reply`. Without a listener INFO and OPTIONS
   * get 200 (INFO with an Info-Package header 469, RFC 6086 §4.2.2) and others 501.
   */
  request: [request: SipRequest, remote: Remote, reply: ServerReply];
  /** UAS: the ACK for our 2xx arrived (it may carry the answer to an offer in the 2xx). */
  ack: [ack: SipRequest];
  /** The early dialog became confirmed (a 2xx). */
  confirmed: [];
  /** An offer/answer exchange completed: the session is now `localSdp` / `remoteSdp`. */
  session: [localSdp: string | undefined, remoteSdp: string | undefined];
  /** The session timer was (re)started by a refresh or a re-INVITE/UPDATE (RFC 4028). */
  refresh: [state: SessionTimerState];
  /** The dialog ended; it is out of the UA's table. Emitted once. */
  terminated: [reason: TerminationReason];
}

/** Everything a dialog starts from (UAC: §12.1.2, UAS: §12.1.1, restore: a snapshot). */
export interface DialogInit {
  callId: string;
  localTag: string;
  remoteTag: string;
  localUri: string;
  localName?: string | undefined;
  remoteUri: string;
  remoteName?: string | undefined;
  remoteTarget: string;
  routeSet: string[];
  localSeq: number;
  remoteSeq: number;
  outgoing: boolean;
  localContact: string;
  early: boolean;
  peerUpdate: boolean;
  peerTimer: boolean;
}

/** Methods whose requests carry our Contact (target refresh requests and the like, RFC 3261 §8.1.1.8, RFC 3311 §5.1). */
function needsContact(method: string): boolean {
  return method === 'INVITE' || method === 'UPDATE' || method === 'SUBSCRIBE' || method === 'NOTIFY' || method === 'REFER';
}

/** The dialog id as one string: Call-ID, local tag, remote tag (none of them can hold a space). */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return callId + ' ' + localTag + ' ' + remoteTag;
}

export class DialogState extends EventEmitter<DialogEvents> {
  readonly callId: string;
  readonly localTag: string;
  remoteTag: string;
  readonly localUri: string;
  readonly localName: string | undefined;
  remoteUri: string;
  remoteName: string | undefined;
  /** RFC 3261 §12.2: replaced by target refresh requests and their 2xx. */
  remoteTarget: string;
  routeSet: readonly string[];
  localSeq: number;
  /** -1 while empty (RFC 3261 §12.1.2: a UAC's remote sequence number starts empty). */
  remoteSeq: number;
  /** We sent the initial INVITE, so the Call-ID is ours (RFC 3261 §14.1 glare timer). */
  readonly outgoing: boolean;
  localContact: string;
  peerUpdate: boolean;
  peerTimer: boolean;
  /** The route set parsed once, for every request (the stack's next-hop code reads it). */
  #routes: RouteAddr[] | undefined;

  constructor(init: DialogInit) {
    super();
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.localUri = init.localUri;
    this.localName = init.localName;
    this.remoteUri = init.remoteUri;
    this.remoteName = init.remoteName;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.outgoing = init.outgoing;
    this.localContact = init.localContact;
    this.peerUpdate = init.peerUpdate;
    this.peerTimer = init.peerTimer;
  }

  setRouteSet(routeSet: string[]): void {
    this.routeSet = routeSet;
    this.#routes = undefined;
  }

  /**
   * RFC 3261 §12.2.1.1: a request within the dialog. Request-URI the remote target, Route the
   * route set; the stack turns a strict first hop (no `lr`) into the strict form (Request-URI =
   * that hop, the remote target last in Route, §12.2.1.1) when it picks the next hop.
   */
  build(method: string, seq: number, extra: SipHeaders | undefined, body: string | undefined, contentType: string | undefined): SipRequest {
    const to: NameAddr = { uri: this.remoteUri, params: { tag: this.remoteTag } };
    if (this.remoteName !== undefined) to.name = this.remoteName;
    const from: NameAddr = { uri: this.localUri, params: { tag: this.localTag } };
    if (this.localName !== undefined) from.name = this.localName;
    const headers: SipHeaders = { to, from, 'call-id': this.callId, cseq: { seq, method } };
    if (this.routeSet.length > 0) {
      this.#routes ??= parseRoute(this.routeSet.join(', '));
      // A fresh list per request: the stack shifts it while picking the next hop.
      headers.route = this.#routes.slice();
    }
    if (needsContact(method)) headers.contact = [{ uri: this.localContact, params: {} }];
    if (extra !== undefined) for (const name of Object.keys(extra)) headers[name] = extra[name];
    const rq: SipRequest = { method, uri: this.remoteTarget, headers };
    if (body !== undefined && body !== '') {
      headers['content-type'] = contentType ?? headers['content-type'] ?? 'application/sdp';
      rq.content = body;
    }
    return rq;
  }
}
