// A registrar and redirect server (RFC 3261 §10 and §8.3) on @sipts/registrar: REGISTER stores
// the Contacts of an address-of-record; an INVITE for a registered user is answered 302 with its
// Contacts (highest q first), else 404. OPTIONS to the server is answered 200 (RFC 3261 §11).
//
//   pnpm example examples/registrar-redirector.ts        # UDP+TCP 127.0.0.1:5060 (SIP_PORT)
import { create, makeResponse } from '@sipts/core';
import type { NameAddr, SipRequest, SipResponse, SipStack, StackOptions } from '@sipts/core';
import { createRegistrar, type Registrar } from '@sipts/registrar';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER';

export interface RegistrarRedirectorOptions extends StackOptions {
  /** The registrar (default: one on the in-memory store, closed with the stack). */
  registrar?: Registrar;
  /**
   * Checks a REGISTER before it is applied: return a response (a 401 challenge) to send
   * instead, or undefined to go on. The digest example plugs in here.
   */
  authorize?: (rq: SipRequest) => SipResponse | undefined;
}

export function startRegistrarRedirector(options: RegistrarRedirectorOptions = {}): SipStack {
  const { registrar: given, authorize, ...stackOptions } = options;
  const registrar = given ?? createRegistrar();
  const stack = create(stackOptions, (rq, remote, reply) => {
    switch (rq.method) {
      case 'ACK':
        return; // the 302/404 ACKs are absorbed by the transaction; nothing else to do
      case 'REGISTER': {
        const denied = authorize?.(rq);
        if (denied !== undefined) {
          reply.reply(denied);
          return;
        }
        void registrar.register(rq, remote).then((rs) => reply.reply(rs));
        return;
      }
      case 'INVITE':
        void registrar.lookup(rq.uri).then((found) => {
          if (found.outcome === 'unavailable') {
            reply.reply(makeResponse(rq, 503, 'Service Unavailable', { headers: { 'retry-after': String(found.retryAfter) } }));
          } else if (found.outcome !== 'found') {
            reply.reply(makeResponse(rq, 404, 'Not Found'));
          } else {
            // §8.3: the Contacts to try, with their q-values.
            const contact: NameAddr[] = found.targets.map((t) => ({ uri: t.uri, params: t.q < 1000 ? { q: String(t.q / 1000) } : {} }));
            reply.reply(makeResponse(rq, 302, 'Moved Temporarily', { headers: { contact } }));
          }
        });
        return;
      case 'OPTIONS':
        reply.reply(makeResponse(rq, 200, 'OK', { headers: { allow: ALLOW, accept: 'application/sdp' } }));
        return;
      case 'CANCEL':
        // INVITEs are answered at once, so there is never one left to cancel.
        reply.reply(makeResponse(rq, 481, 'Call/Transaction Does Not Exist'));
        return;
      default:
        reply.reply(makeResponse(rq, 405, 'Method Not Allowed', { headers: { allow: ALLOW } }));
    }
  });
  // A WebSocket client's bindings go with its connection (it cannot be reached otherwise).
  registrar.attach(stack);
  if (given === undefined) stack.once('close', () => void registrar.close());
  return stack;
}

if (isMain('registrar-redirector.ts')) {
  const stack = startRegistrarRedirector({ address: process.env.SIP_ADDRESS ?? '127.0.0.1', port: envPort('SIP_PORT', 5060) });
  runUntilSignal('registrar + redirect server:', stack);
}
