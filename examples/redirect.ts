// A redirect server (the example of sip's README, on @sipts/core): every request is answered
// 302 Moved Temporarily with a Contact that names the same user on another host.
//
//   pnpm example examples/redirect.ts            # UDP+TCP on 127.0.0.1:5060, to backup.example.net
//   SIP_PORT=5070 REDIRECT_HOST=10.0.0.2 pnpm example examples/redirect.ts
import { create, makeResponse, parseUri } from '@sipts/core';
import type { SipStack, StackOptions } from '@sipts/core';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export interface RedirectOptions extends StackOptions {
  /** The host every request is redirected to. */
  target?: string;
}

export function startRedirect(options: RedirectOptions = {}): SipStack {
  const { target = 'backup.example.net', ...stackOptions } = options;
  const stack = create(stackOptions, (rq) => {
    if (rq.method === 'ACK') return; // ACK is never answered (the transaction absorbs the 302's)
    const rs = makeResponse(rq, 302, 'Moved Temporarily');
    const uri = parseUri(rq.uri);
    if (uri === undefined) {
      stack.send(makeResponse(rq, 416, 'Unsupported URI Scheme'));
      return;
    }
    rs.headers.contact = [{ uri: { ...uri, host: target, port: undefined }, params: {} }];
    stack.send(rs);
  });
  return stack;
}

if (isMain('redirect.ts')) {
  const target = process.env.REDIRECT_HOST ?? 'backup.example.net';
  const stack = startRedirect({ address: process.env.SIP_ADDRESS ?? '127.0.0.1', port: envPort('SIP_PORT', 5060), target });
  runUntilSignal('redirect server (302 to ' + target + '):', stack);
}
