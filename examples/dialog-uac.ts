// A caller on @sipts/dialog: it calls TARGET with an SDP offer (@sipts/sdp), prints each step
// (provisional responses, PRACKs for reliable ones, the answer, session timer refreshes), and
// hangs up after HANGUP_MS; a BYE from the callee ends it earlier; Ctrl-C cancels a ringing call.
// The SDP names a placeholder RTP port: no media flows.
//
//   TARGET=sip:uas@127.0.0.1:5062 HANGUP_MS=3000 pnpm example examples/dialog-uac.ts
//   pnpm example examples/dialog-uac.ts sip:service@127.0.0.1:5060
import { create } from '@sipts/core';
import type { StackOptions } from '@sipts/core';
import { createUA, isDialogError, type Rel100Policy } from '@sipts/dialog';
import { createOffer, stringifySdp } from '@sipts/sdp';
import { isMain } from './lib/run.js';

export interface DialogUacOptions {
  /** Who to call: a SIP URI. */
  target: string;
  /** Hang up this long after the answer, in ms. Default 1000. */
  hangupMs?: number;
  /** 100rel policy (see @sipts/dialog). Default `supported`: reliable provisionals are PRACKed. */
  rel100?: Rel100Policy;
  /** Give up: CANCEL while ringing, BYE once answered. */
  signal?: AbortSignal;
  /** Options of the stack made for the call (default: 127.0.0.1, a free port). */
  stackOptions?: StackOptions;
  /** One line per step (default: none). */
  log?: (line: string) => void;
}

export interface DialogUacResult {
  /** Final status of the INVITE (487 when cancelled, 0 when nothing answered). */
  status: number;
  /** How the call ended once answered. */
  ended?: string;
  /** Status of our BYE, when we sent one. */
  byeStatus?: number;
  /** Reliable provisional responses PRACKed. */
  pracks: number;
}

export async function runDialogUac(options: DialogUacOptions): Promise<DialogUacResult> {
  const log = options.log ?? ((): void => {});
  const stack = create({ address: '127.0.0.1', port: 0, ...options.stackOptions });
  const so = options.stackOptions ?? {};
  const ua = createUA(stack, {
    user: 'uac',
    rel100: options.rel100 ?? 'supported',
    ...(so.t1 !== undefined ? { t1: so.t1 } : {}),
    ...(so.t2 !== undefined ? { t2: so.t2 } : {}),
    ...(so.clock !== undefined ? { clock: so.clock } : {}),
  });
  ua.on('error', (e) => log(`error: ${e.message}`));
  let pracks = 0;
  try {
    await stack.ready();
    const address = stack.sentBy().replace(/^\[|\]$/g, '');
    const offer = stringifySdp(
      createOffer({ address, media: [{ media: 'audio', port: 41000, codecs: [{ name: 'PCMU', clockRate: 8000 }, { name: 'telephone-event', clockRate: 8000, fmtp: '0-16' }] }] }),
    );
    log(`calling ${options.target}`);
    const dialog = await ua.invite(options.target, {
      sdp: offer,
      signal: options.signal,
      onProgress: (rs) => {
        const reliable = rs.headers.rseq !== undefined;
        if (reliable) pracks++;
        log(`${rs.status} ${rs.reason}${reliable ? ` (reliable, RSeq ${String(rs.headers.rseq)}: PRACK sent)` : ''}`);
      },
    });
    log(`answered: 200 OK, ACK sent${dialog.sessionTimer ? `; session timer ${dialog.sessionTimer.interval} s (${dialog.sessionTimer.refresher} refresher)` : ''}`);
    dialog.on('refresh', (s) => log(`session refreshed (${s.interval} s)`));
    const ended = new Promise<string>((resolve) => dialog.once('terminated', (r) => resolve(r.cause)));
    let timer: NodeJS.Timeout | undefined;
    const held = new Promise<'held'>((resolve) => {
      timer = setTimeout(() => resolve('held'), options.hangupMs ?? 1000);
      options.signal?.addEventListener('abort', () => resolve('held'), { once: true });
    });
    const outcome = await Promise.race([held, ended]);
    clearTimeout(timer);
    if (outcome !== 'held') {
      log(`call ended by the callee (${outcome})`);
      return { status: 200, ended: outcome, pracks };
    }
    const bye = await dialog.bye();
    log(`hung up: BYE answered ${bye?.status ?? '-'}`);
    return { status: 200, ended: 'local-bye', pracks, ...(bye !== undefined ? { byeStatus: bye.status } : {}) };
  } catch (e) {
    if (isDialogError(e) && e.response !== undefined) {
      log(`call failed: ${e.response.status} ${e.response.reason}`);
      return { status: e.response.status, pracks };
    }
    throw e;
  } finally {
    await ua.close();
    await stack.close();
  }
}

if (isMain('dialog-uac.ts')) {
  const target = process.argv[2] ?? process.env.TARGET;
  if (target === undefined || !/^sips?:/.test(target)) {
    console.error('usage: TARGET=sip:user@host[:port] pnpm example examples/dialog-uac.ts  (or the URI as argument)');
    process.exit(2);
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  runDialogUac({
    target,
    hangupMs: Number(process.env.HANGUP_MS ?? 1000),
    signal: controller.signal,
    stackOptions: { address: process.env.SIP_ADDRESS ?? '127.0.0.1', port: Number(process.env.SIP_PORT ?? 0) },
    log: (line) => console.log(line),
  }).then(
    (result) => process.exit(result.status >= 200 && result.status < 300 ? 0 : 1),
    (e: unknown) => {
      console.error(e instanceof Error ? e.message : String(e));
      process.exit(1);
    },
  );
}
