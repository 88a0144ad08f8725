// A registrar and redirect server (RFC 3261 §10 and §8.3): REGISTER stores the Contacts of an
// address-of-record; an INVITE for a registered user is answered 302 with its Contacts, else 404.
// OPTIONS to the server is answered 200 (RFC 3261 §11).
//
//   pnpm example examples/registrar-redirector.ts        # UDP+TCP 127.0.0.1:5060 (SIP_PORT)
import { create, makeResponse } from '@sipts/core';
import type { SipRequest, SipResponse, SipStack, StackOptions } from '@sipts/core';
import { LocationService, aorOf } from './lib/location-service.js';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER';

export interface RegistrarRedirectorOptions extends StackOptions {
  location?: LocationService;
  /**
   * Checks a REGISTER before it is applied: return a response (a 401 challenge) to send
   * instead, or undefined to go on. The digest example plugs in here.
   */
  authorize?: (rq: SipRequest) => SipResponse | undefined;
}

export function startRegistrarRedirector(options: RegistrarRedirectorOptions = {}): SipStack {
  const { location = new LocationService(), authorize, ...stackOptions } = options;
  const stack = create(stackOptions, (rq, remote) => {
    switch (rq.method) {
      case 'ACK':
        return; // the 302/404 ACKs are absorbed by the transaction; nothing else to do
      case 'REGISTER': {
        const denied = authorize?.(rq);
        if (denied !== undefined) {
          stack.send(denied);
          return;
        }
        const result = location.register(rq, remote);
        if (result.status === 423) {
          stack.send(makeResponse(rq, 423, 'Interval Too Brief', { headers: { 'min-expires': String(result.minExpires) } }));
        } else if (result.status === 400) {
          stack.send(makeResponse(rq, 400, result.reason));
        } else {
          stack.send(makeResponse(rq, 200, 'OK', { headers: { contact: result.contacts } }));
        }
        return;
      }
      case 'INVITE': {
        const user = aorOf(rq.uri);
        const bindings = user === undefined ? [] : location.lookup(user);
        if (bindings.length === 0) {
          stack.send(makeResponse(rq, 404, 'Not Found'));
          return;
        }
        stack.send(makeResponse(rq, 302, 'Moved Temporarily', { headers: { contact: bindings.map((b) => b.contact) } }));
        return;
      }
      case 'OPTIONS':
        stack.send(makeResponse(rq, 200, 'OK', { headers: { allow: ALLOW, accept: 'application/sdp' } }));
        return;
      case 'CANCEL':
        // INVITEs are answered at once, so there is never one left to cancel.
        stack.send(makeResponse(rq, 481, 'Call/Transaction Does Not Exist'));
        return;
      default:
        stack.send(makeResponse(rq, 405, 'Method Not Allowed', { headers: { allow: ALLOW } }));
    }
  });
  return stack;
}

if (isMain('registrar-redirector.ts')) {
  const stack = startRegistrarRedirector({ address: process.env.SIP_ADDRESS ?? '127.0.0.1', port: envPort('SIP_PORT', 5060) });
  runUntilSignal('registrar + redirect server:', stack);
}
