// A callee on @sipts/dialog: it rings (a 180, sent reliably when the caller requires or supports
// 100rel, RFC 3262), answers after RING_MS with an SDP answer (RFC 3264, @sipts/sdp), answers
// re-INVITEs and UPDATEs with new offers, negotiates and enforces session timers (RFC 4028), and
// hangs up after HANGUP_MS if set. The SDP names placeholder RTP ports: no media flows.
//
//   pnpm example examples/dialog-uas.ts                      # UDP+TCP 127.0.0.1:5062
//   SIP_PORT=5070 RING_MS=2000 HANGUP_MS=10000 pnpm example examples/dialog-uas.ts
//   sipp -sn uac -i 127.0.0.1 -p 5090 -m 1 127.0.0.1:5062    # call it
import { create, makeResponse } from '@sipts/core';
import type { SipStack, StackOptions } from '@sipts/core';
import { createUA, isDialogError, type Dialog, type DialogUA, type IncomingCall, type SessionTimerOptions } from '@sipts/dialog';
import { createAnswer, createOffer, parseSdp, stringifySdp, type LocalDescription } from '@sipts/sdp';
import { envPort, isMain, runUntilSignal } from './lib/run.js';

export interface DialogUasOptions extends StackOptions {
  /** How long to ring before answering, in ms. Default 100. */
  ringMs?: number;
  /** Hang up this long after the answer, in ms. Default: never (the caller hangs up). */
  hangupMs?: number | undefined;
  /** Our (placeholder) RTP port in the SDP. Default 40000. */
  rtpPort?: number;
  /** Session timers (see @sipts/dialog); false turns them off. Default: on, 1800 s. */
  sessionTimer?: SessionTimerOptions | false;
  /** One line per step (default: none). */
  log?: (line: string) => void;
}

export interface DialogUas {
  stack: SipStack;
  ua: DialogUA;
}

/** What we can do: PCMU, PCMA and DTMF events on one audio stream. */
function localDescription(address: string, rtpPort: number, previous: string | undefined): LocalDescription {
  return {
    address,
    media: [
      {
        media: 'audio',
        port: rtpPort,
        codecs: [
          { name: 'PCMU', clockRate: 8000 },
          { name: 'PCMA', clockRate: 8000 },
          { name: 'telephone-event', clockRate: 8000, fmtp: '0-16' },
        ],
        ptime: 20,
      },
    ],
    // RFC 3264 §8: the same o= line, its version bumped only when the description changes.
    ...(previous !== undefined ? { previous: parseSdp(previous) } : {}),
  };
}

export function startDialogUas(options: DialogUasOptions = {}): DialogUas {
  const { ringMs = 100, hangupMs, rtpPort = 40000, sessionTimer, log = (): void => {}, ...stackOptions } = options;
  const stack = create(stackOptions);
  const address = (): string => stack.sentBy().replace(/^\[|\]$/g, '');
  const answer = (offer: string, previous: string | undefined): string | undefined => {
    try {
      return stringifySdp(createAnswer(parseSdp(offer), localDescription(address(), rtpPort, previous)));
    } catch {
      return undefined; // not an offer we understand: 488
    }
  };
  const ua = createUA(stack, {
    user: 'uas',
    // Reliable provisionals whenever the caller supports them (RFC 3262 §3).
    rel100: 'preferred',
    ...(sessionTimer !== undefined ? { sessionTimer } : {}),
    ...(stackOptions.t1 !== undefined ? { t1: stackOptions.t1 } : {}),
    ...(stackOptions.t2 !== undefined ? { t2: stackOptions.t2 } : {}),
    ...(stackOptions.clock !== undefined ? { clock: stackOptions.clock } : {}),
    sdp: {
      // New offers in re-INVITE, UPDATE and PRACK.
      answer: (dialog, offer, context) => {
        log(`${context.method} with an offer: answering`);
        return answer(offer, dialog.localSdp);
      },
    },
  });
  ua.on('error', (e) => log(`error: ${e.message}`));
  ua.on('invite', (call) => void handleCall(call));

  async function handleCall(call: IncomingCall): Promise<void> {
    const from = call.request?.headers.from?.uri;
    log(`INVITE from ${typeof from === 'string' ? from : 'someone'}${call.offer !== undefined ? ' with an offer' : ''}`);
    try {
      const prack = await call.progress(180);
      log(prack !== undefined ? '180 Ringing sent reliably, PRACKed' : '180 Ringing sent');
      await new Promise((resolve) => setTimeout(resolve, ringMs));
      const sdp = call.offer !== undefined ? answer(call.offer, undefined) : stringifySdp(createOffer(localDescription(address(), rtpPort, undefined)));
      if (sdp === undefined) {
        call.reject(488);
        log('488: no codec in common');
        return;
      }
      const dialog = await call.accept({ sdp });
      log(`answered, ACK received (session timer ${dialog.sessionTimer ? `${dialog.sessionTimer.interval} s, ${dialog.sessionTimer.refresher} refresher` : 'off'})`);
      watch(dialog);
    } catch (e) {
      if (isDialogError(e) && e.code === 'ERR_NO_ACK') log('no ACK for the 200 within 64*T1: BYE sent');
      else log(`call ended before the answer: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  function watch(dialog: Dialog): void {
    let timer: NodeJS.Timeout | undefined;
    if (hangupMs !== undefined) {
      timer = setTimeout(() => {
        log('hanging up');
        void dialog.bye().then((rs) => log(`BYE answered ${rs?.status ?? '-'}`));
      }, hangupMs);
    }
    dialog.on('session', () => log('session updated'));
    dialog.on('refresh', (s) => log(`session timer: ${s.interval} s`));
    dialog.on('request', (rq, _remote, reply) => {
      log(`${rq.method} in the dialog`);
      reply.reply(makeResponse(rq, 200));
    });
    dialog.on('terminated', (reason) => {
      if (timer !== undefined) clearTimeout(timer);
      log(`call ended: ${reason.cause}`);
    });
  }

  return { stack, ua };
}

if (isMain('dialog-uas.ts')) {
  const raw = process.env.HANGUP_MS;
  const { stack } = startDialogUas({
    address: process.env.SIP_ADDRESS ?? '127.0.0.1',
    port: envPort('SIP_PORT', 5062),
    ringMs: Number(process.env.RING_MS ?? 100),
    hangupMs: raw === undefined || raw === '' ? undefined : Number(raw),
    log: (line) => console.log(line),
  });
  runUntilSignal('dialog UAS (rings, answers, re-INVITE/UPDATE, 100rel, session timers):', stack);
}
