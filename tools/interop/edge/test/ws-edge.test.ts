// The proxy at the edge, end to end on 127.0.0.1: examples/proxy-registrar.ts (in-process, port
// 0, UDP + TCP + WebSocket) between a SIPp caller over UDP and a WebSocket client (a SIP UA
// written with the `ws` package, tools/interop/edge/lib/ws-ua.ts) registered over its
// connection with a `.invalid` Contact. The INVITE reaches the client with two Record-Route
// entries (RFC 5658: the one for its own side on top, with the flow token of its connection,
// RFC 5626 §5.3; the caller's UDP one below), and the re-INVITE and BYE of either end reach the
// other: from the UDP side over the WebSocket connection, from the WebSocket side to the UDP
// Contact. Skipped with a message when `sipp` is missing.
import { join } from 'node:path';
import type { SipRequest } from '@sipts/message';
import type { SipProxy } from '@sipts/proxy';
import { startProxyRegistrar } from '../../../../examples/proxy-registrar.js';
import { describeResult, findSipp, freeMediaPort, freePort, startSipp, type SippProcess, type SippResult } from '../../lib/sipp.js';
import { WsUa } from '../lib/ws-ua.js';

const sipp = findSipp();
const suite = sipp === undefined ? describe.skip : describe;
if (sipp === undefined) {
  console.warn('tools/interop/edge: SIPp scenarios SKIPPED: `sipp` is not on PATH (apt-get install sip-tester)');
}

const scenario = (name: string): string => join(__dirname, '..', 'scenarios', name);

const open: { proxies: SipProxy[]; uas: WsUa[]; sipps: SippProcess[] } = { proxies: [], uas: [], sipps: [] };
afterEach(async () => {
  for (const s of open.sipps.splice(0)) s.stop();
  await Promise.all(open.uas.splice(0).map((u) => u.close()));
  for (const p of open.proxies.splice(0)) await p.stop();
});

interface Edge {
  proxy: SipProxy;
  udp: number;
  ws: number;
  /** The WebSocket client, registered as `wsbob`. */
  ua: WsUa;
}

async function edge(): Promise<Edge> {
  const proxy = startProxyRegistrar({ address: '127.0.0.1', port: 0, ws_port: 0 });
  open.proxies.push(proxy);
  await proxy.ready();
  const addresses = proxy.stack.addresses?.() ?? [];
  const udp = addresses.find((a) => a.protocol === 'UDP')?.port ?? 0;
  const ws = addresses.find((a) => a.protocol === 'WS')?.port ?? 0;
  const ua = await WsUa.open(`ws://127.0.0.1:${ws}`, 'wsbob');
  open.uas.push(ua);
  const registered = await ua.register(`sip:127.0.0.1:${ws};transport=ws`, '127.0.0.1');
  expect(registered.status).toBe(200);
  return { proxy, udp, ws, ua };
}

async function caller(file: string, proxyUdp: number): Promise<SippProcess> {
  const run = startSipp(
    [
      '-i', '127.0.0.1', '-p', String(await freePort()), '-mp', String(await freeMediaPort()),
      '-t', 'u1', '-sf', scenario(file), '-s', 'wsbob', '-m', '1', '-timeout', '30s', '-timeout_error',
      `127.0.0.1:${proxyUdp}`,
    ],
    { timeoutMs: 40_000 },
  );
  open.sipps.push(run);
  return run;
}

function expectPassed(name: string, r: SippResult): void {
  const ok = r.exitCode === 0 && r.successful === 1 && r.failed === 0 && !r.timedOut;
  expect({ name, ok, detail: ok ? '' : describeResult(name, r) }).toEqual({ name, ok: true, detail: '' });
}

/** Polls `condition` every 20 ms for at most 3 s. */
async function eventually(condition: () => boolean): Promise<boolean> {
  for (let i = 0; i < 150 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  return condition();
}

/** The INVITE as the WebSocket client gets it: two Record-Route entries, its own side's on top with a flow token. */
function expectEdgeRecordRoute(invite: SipRequest, udp: number, ws: number): void {
  const rr = (invite.headers['record-route'] ?? []).map((r) => r.uri);
  expect(rr).toHaveLength(2);
  // RFC 5658: the entry facing the callee (WebSocket, with the token of its connection) first...
  expect(rr[0]).toMatchObject({ host: '127.0.0.1', port: ws, params: { transport: 'ws', lr: null } });
  expect(rr[0]?.user).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  // ...then the one facing the caller (UDP, no transport parameter, no token).
  expect(rr[1]).toMatchObject({ host: '127.0.0.1', port: udp, params: { lr: null } });
  expect(rr[1]?.user).toBeUndefined();
  expect(rr[1]?.params['transport']).toBeUndefined();
}

suite(`a WebSocket client and a UDP caller through the proxy (${sipp ?? 'sipp not installed'})`, () => {
  jest.setTimeout(60_000);

  test('the UDP caller re-INVITEs and hangs up: both reach the WebSocket connection, without our Route entries', async () => {
    const { proxy, udp, ws, ua } = await edge();
    const run = await caller('uac-reinvite-bye.xml', udp);
    const invite = await ua.request('INVITE', false);
    expectEdgeRecordRoute(invite, udp, ws);
    ua.answer(invite);
    await ua.request('ACK', true);

    const reinvite = await ua.request('INVITE', true);
    // Both of our entries came off (RFC 5658), the flow entry by the stack as it sent on the flow.
    expect(reinvite.headers.route ?? []).toEqual([]);
    expect(reinvite.headers.cseq?.seq).toBe(2);
    ua.ok(reinvite);
    await ua.request('ACK', true);
    const bye = await ua.request('BYE', true);
    ua.ok(bye);

    expectPassed('UDP caller', await run.done);
    expect(await eventually(() => proxy.contextCount === 0)).toBe(true);
  });

  test('the WebSocket client re-INVITEs and hangs up: both reach the UDP caller', async () => {
    const { proxy, udp, ws, ua } = await edge();
    const run = await caller('uac-answer-reinvite-bye.xml', udp);
    const invite = await ua.request('INVITE', false);
    expectEdgeRecordRoute(invite, udp, ws);
    const dialog = ua.answer(invite);
    await ua.request('ACK', true);

    // Route: [our WS entry with the token of this very connection, our UDP entry]: the proxy
    // takes both off (the token names the flow the request came on) and sends to the Contact.
    const reinvite = ua.inDialog(dialog, 'INVITE');
    expect((await ua.final(reinvite.headers.cseq?.seq ?? 0, 'INVITE')).status).toBe(200);
    ua.inDialog(dialog, 'ACK', reinvite.headers.cseq?.seq);
    const bye = ua.inDialog(dialog, 'BYE');
    expect((await ua.final(bye.headers.cseq?.seq ?? 0, 'BYE')).status).toBe(200);

    expectPassed('UDP caller', await run.done);
    expect(await eventually(() => proxy.contextCount === 0)).toBe(true);
  });
});
