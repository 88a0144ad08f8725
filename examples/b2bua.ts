// A back-to-back user agent on @sipts/b2bua: every INVITE it receives is bridged to TARGET (a
// comma-separated list is tried in turn) as a new call with its own Call-ID, tags, Via and
// Contact, so neither side learns the other's topology. Provisional and final responses, CANCEL,
// BYE, re-INVITE, UPDATE, INFO and MESSAGE are relayed; a REFER is handled here (the B2BUA calls
// the Refer-To target and NOTIFYs the transferor). With MEDIA_ADDRESS set, every SDP crossing it
// has its connection addresses rewritten to that address (@sipts/sdp's rewriteConnection), as a
// B2BUA in front of a media relay would do; without it SDP passes as it is.
//
//   pnpm example examples/b2bua.ts                  # UDP+TCP 127.0.0.1:5070 -> sip:service@127.0.0.1:5080
//   SIP_PORT=5070 TARGET=sip:service@127.0.0.1:5080 pnpm example examples/b2bua.ts
//   sipp -sn uas -i 127.0.0.1 -p 5080 -mp 16000 &                          # the callee
//   sipp -sn uac -s service -i 127.0.0.1 -p 5090 -mp 16010 -m 1 127.0.0.1:5070   # the caller
import { create } from '@sipts/core';
import type { SipStack, StackOptions } from '@sipts/core';
import { createB2bua, type B2bua, type B2buaOptions, type RouteHook, type SdpHook } from '@sipts/b2bua';
import { parseSdp, rewriteConnection, stringifySdp } from '@sipts/sdp';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export interface B2buaExampleOptions extends StackOptions {
  /** Where calls go: a URI, URIs tried in turn, or a function of the INVITE. Default sip:service@127.0.0.1:5080. */
  target?: string | readonly string[] | RouteHook;
  /** Rewrite the c= and o= addresses of every SDP crossing the B2BUA to this address. */
  mediaAddress?: string | undefined;
  /** More @sipts/b2bua options (limits, hooks, the dialog UA's options). */
  b2bua?: Omit<B2buaOptions, 'target'>;
  /** One line per call event (default: none). */
  log?: (line: string) => void;
}

export interface B2buaExample {
  stack: SipStack;
  b2bua: B2bua;
}

/** An SDP hook that points every c=/o= line at `address` (a media relay's), keeping the ports. */
export function rewriteMedia(address: string): SdpHook {
  return (sdp) => {
    try {
      return stringifySdp(rewriteConnection(parseSdp(sdp), { address }));
    } catch {
      return { status: 488 }; // not a description we can rewrite
    }
  };
}

export function startB2bua(options: B2buaExampleOptions = {}): B2buaExample {
  const { target = 'sip:service@127.0.0.1:5080', mediaAddress, b2bua: b2buaOptions = {}, log, ...stackOptions } = options;
  const stack = create(stackOptions);
  const media = mediaAddress === undefined ? undefined : rewriteMedia(mediaAddress);
  const b2bua = createB2bua(stack, {
    ...b2buaOptions,
    target,
    ...(media !== undefined ? { onOffer: media, onAnswer: media } : {}),
    // Transfers are done here: the B2BUA calls the Refer-To target itself.
    onRefer: b2buaOptions.onRefer ?? (() => ({ action: 'accept' })),
    ua: {
      user: 'b2bua',
      ...b2buaOptions.ua,
      // The UA's timers run on the stack's T1/T2 and clock.
      ...(stackOptions.t1 !== undefined ? { t1: stackOptions.t1 } : {}),
      ...(stackOptions.t2 !== undefined ? { t2: stackOptions.t2 } : {}),
      ...(stackOptions.clock !== undefined ? { clock: stackOptions.clock } : {}),
    },
  });
  if (log !== undefined) {
    b2bua.on('legStart', (e) => log(`leg ${e.side} ${e.legCallId}${e.target !== undefined ? ` -> ${e.target}` : ''}`));
    b2bua.on('legEnd', (e) => log(`leg ${e.side} ${e.legId} ended: ${e.reason}${e.status !== undefined ? ` (${e.status})` : ''}`));
    b2bua.on('callEnd', (e) => log(`call ${e.callId} ended: ${e.outcome}, ${e.reason}${e.status !== undefined ? ` (${e.status})` : ''}`));
    b2bua.on('error', (e) => log(`error: ${e.message}`));
  }
  return { stack, b2bua };
}

if (isMain('b2bua.ts')) {
  const targets = (process.env.TARGET ?? 'sip:service@127.0.0.1:5080')
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  const verbose = process.env.LOG === '1';
  const { stack } = startB2bua({
    address: process.env.SIP_ADDRESS ?? '127.0.0.1',
    port: envPort('SIP_PORT', 5070),
    target: targets,
    mediaAddress: process.env.MEDIA_ADDRESS === '' ? undefined : process.env.MEDIA_ADDRESS,
    ...(verbose ? { log: (line: string) => console.log(line) } : {}),
  });
  runUntilSignal(`B2BUA -> ${targets.join(', ')}:`, stack, ['  LOG=1 prints call and leg events']);
}
