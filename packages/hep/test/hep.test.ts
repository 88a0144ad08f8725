// HEP capture: every message of a call is decoded by an independent decoder (the npm package
// hep-js) with the right fields; TCP framing; IPv6; the bounded queue; the Call-ID scanner.
import { createSocket } from 'node:dgram';
import { createServer, type Socket } from 'node:net';
import { create, makeResponse, parse } from '@sipts/core';
import type { SipRequest, SipStack } from '@sipts/core';
import { HepCapture, HepError, HepSender, callIdOf, captureHep, decodeHep, encodeHep, ipBytes, isHepError } from '@sipts/hep';
// hep-js has no types: the shape of what decapsulate() returns.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const hepjs = require('hep-js') as { decapsulate(packet: Buffer): HepJsPacket | false };

interface HepJsPacket {
  rcinfo: {
    protocolFamily: number;
    protocol: number;
    srcIp: string;
    dstIp: string;
    srcPort: number;
    dstPort: number;
    timeSeconds: number;
    timeUseconds: number;
    payloadType: number;
    captureId: number;
    capturePass?: string;
    correlation_id?: string;
    hepNodeName?: string;
  };
  payload: string;
}

jest.setTimeout(20_000);

const stacks: SipStack[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  await Promise.all(stacks.splice(0).map((s) => s.close()));
  for (const close of closers.splice(0)) await close();
});

async function stack(onRequest?: (rq: SipRequest, reply: { reply(rs: ReturnType<typeof makeResponse>): boolean }) => void): Promise<SipStack> {
  const s = create({ address: '127.0.0.1', port: 0, tcp: false }, onRequest ? (rq, _remote, reply) => onRequest(rq, reply) : undefined);
  stacks.push(s);
  await s.ready();
  return s;
}

function udpPort(s: SipStack): number {
  return s.addresses().find((a) => a.protocol === 'UDP')!.port;
}

async function udpCollector(): Promise<{ port: number; packets: Buffer[] }> {
  const socket = createSocket('udp4');
  const packets: Buffer[] = [];
  socket.on('message', (data) => packets.push(data));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  closers.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { port: socket.address().port, packets };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
}

/** A whole call on the UAS side: INVITE, 180, 200, ACK, BYE, 200. */
async function call(uac: SipStack, uasPort: number, callId: string): Promise<void> {
  const uri = `sip:bob@127.0.0.1:${uasPort}`;
  const invite: SipRequest = {
    method: 'INVITE',
    uri,
    headers: {
      to: { uri, params: {} },
      from: { uri: 'sip:alice@127.0.0.1', params: { tag: 'a1' } },
      'call-id': callId,
      cseq: { seq: 1, method: 'INVITE' },
      contact: [{ uri: 'sip:alice@127.0.0.1', params: {} }],
    },
  };
  const ok = await uac.request(invite);
  expect(ok.status).toBe(200);
  const dialog = { to: ok.headers.to, from: invite.headers.from, 'call-id': callId };
  uac.send({ method: 'ACK', uri, headers: { ...dialog, cseq: { seq: 1, method: 'ACK' } } });
  const byeOk = await uac.request({ method: 'BYE', uri, headers: { ...dialog, cseq: { seq: 2, method: 'BYE' } } });
  expect(byeOk.status).toBe(200);
}

function answering(rq: SipRequest, reply: { reply(rs: ReturnType<typeof makeResponse>): boolean }): void {
  if (rq.method === 'INVITE') {
    reply.reply(makeResponse(rq, 180));
    reply.reply(makeResponse(rq, 200));
  } else if (rq.method !== 'ACK') reply.reply(makeResponse(rq, 200));
}

describe('HEP3 capture decoded by hep-js', () => {
  test('every message of a call, with addresses, ports, protocol, time, capture id, auth key, node name and the Call-ID', async () => {
    const collector = await udpCollector();
    const uas = await stack(answering);
    const uac = await stack();
    const capture = captureHep(uas, { target: `127.0.0.1:${collector.port}`, captureId: 4242, authKey: 's3cret', nodeName: 'sipts-test' });
    closers.push(() => capture.close());
    const before = Math.floor(Date.now() / 1000);
    await call(uac, udpPort(uas), 'call-hep-1@test');
    await until(() => collector.packets.length >= 6);
    const after = Math.ceil(Date.now() / 1000);
    expect(collector.packets).toHaveLength(6);
    const decoded = collector.packets.map((p) => hepjs.decapsulate(p));
    const uasPort = udpPort(uas);
    const uacPort = udpPort(uac);
    const summary: string[] = [];
    for (const packet of decoded) {
      expect(packet).not.toBe(false);
      const { rcinfo, payload } = packet as HepJsPacket;
      const message = parse(payload);
      expect(message).toBeDefined();
      const inbound = message !== undefined && 'method' in message;
      summary.push(`${inbound ? 'in' : 'out'} ${message && 'method' in message ? message.method : String(message?.status)}`);
      expect(rcinfo).toMatchObject({
        protocolFamily: 2,
        protocol: 17,
        srcIp: '127.0.0.1',
        dstIp: '127.0.0.1',
        srcPort: inbound ? uacPort : uasPort,
        dstPort: inbound ? uasPort : uacPort,
        payloadType: 1,
        captureId: 4242,
        capturePass: 's3cret',
        hepNodeName: 'sipts-test',
        correlation_id: 'call-hep-1@test',
      });
      expect(rcinfo.timeSeconds).toBeGreaterThanOrEqual(before);
      expect(rcinfo.timeSeconds).toBeLessThanOrEqual(after);
      expect(rcinfo.timeUseconds).toBeGreaterThanOrEqual(0);
      expect(rcinfo.timeUseconds).toBeLessThan(1_000_000);
      expect(message?.headers['call-id']).toBe('call-hep-1@test');
    }
    expect(summary).toEqual(['in INVITE', 'out 180', 'out 200', 'in ACK', 'in BYE', 'out 200']);
    expect(capture.stats()).toMatchObject({ captured: 6, sent: 6, dropped: 0, errors: 0, unencodable: 0 });
  });

  test('HEP over TCP: packets framed by their length, decoded one by one', async () => {
    const received: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (let d = decodeHep(pending); d !== undefined; d = decodeHep(pending)) {
          received.push(pending.subarray(0, d.length));
          pending = pending.subarray(d.length);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    closers.push(() => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }));
    const port = (server.address() as { port: number }).port;
    const uas = await stack(answering);
    const uac = await stack();
    const capture = captureHep(uas, { target: { host: '127.0.0.1', port }, transport: 'tcp' });
    closers.push(() => capture.close());
    await call(uac, udpPort(uas), 'call-hep-tcp');
    await until(() => received.length >= 6);
    expect(received).toHaveLength(6);
    for (const packet of received) {
      const d = hepjs.decapsulate(packet) as HepJsPacket;
      expect(d.rcinfo.correlation_id).toBe('call-hep-tcp');
      expect(d.rcinfo.captureId).toBe(2001);
      expect(d.rcinfo.capturePass).toBeUndefined();
    }
  });
});

describe('the encoder', () => {
  const base = {
    protocol: 'TCP',
    sourcePort: 5060,
    destinationPort: 5070,
    time: 1_700_000_000_123.456,
    captureId: 7,
    payload: new TextEncoder().encode('OPTIONS sip:x SIP/2.0\r\n\r\n'),
  };

  test('IPv4 fields as hep-js reads them; TCP is protocol 6; the microseconds from the fraction', () => {
    const packet = encodeHep({ ...base, sourceAddress: '192.0.2.1', destinationAddress: '198.51.100.7' })!;
    const d = hepjs.decapsulate(Buffer.from(packet)) as HepJsPacket;
    expect(d.rcinfo).toMatchObject({ protocolFamily: 2, protocol: 6, srcIp: '192.0.2.1', dstIp: '198.51.100.7', timeSeconds: 1_700_000_000, timeUseconds: 123456, captureId: 7 });
    expect(d.payload).toBe('OPTIONS sip:x SIP/2.0\r\n\r\n');
  });

  test('IPv6 (hep-js does not read chunks 5/6: checked with decodeHep), mixed families mapped', () => {
    const packet = encodeHep({ ...base, sourceAddress: '[2001:db8::1]', destinationAddress: '127.0.0.1' })!;
    const d = decodeHep(packet)!;
    expect(d.chunks.get(1)).toEqual(new Uint8Array([10]));
    expect(Buffer.from(d.chunks.get(5)!).toString('hex')).toBe('20010db8000000000000000000000001');
    expect(Buffer.from(d.chunks.get(6)!).toString('hex')).toBe('00000000000000000000ffff7f000001');
    expect(d.length).toBe(packet.length);
    expect(Buffer.from(ipBytes('::ffff:192.0.2.1')!).toString('hex')).toBe('00000000000000000000ffffc0000201');
    expect(Buffer.from(ipBytes('fe80::1:2%eth0')!).toString('hex')).toBe('fe800000000000000000000000010002');
    expect(ipBytes('example.com')).toBeUndefined();
  });

  test('a packet over 65535 bytes is not encoded; a non-IP address is refused', () => {
    expect(encodeHep({ ...base, sourceAddress: '127.0.0.1', destinationAddress: '127.0.0.1', payload: new Uint8Array(70000) })).toBeUndefined();
    expect(() => encodeHep({ ...base, sourceAddress: 'host', destinationAddress: '127.0.0.1' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_PACKET' }));
    const capture = new HepCapture({ target: '127.0.0.1:9' });
    closers.push(() => capture.close());
    capture.capture('in', new Uint8Array(70000), { protocol: 'UDP', address: '127.0.0.1', port: 5060 });
    expect(capture.stats()).toMatchObject({ captured: 1, unencodable: 1, sent: 0 });
  });
});

describe('never blocks SIP', () => {
  test('TCP collector down: at most maxQueue packets wait, the rest are dropped and counted', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((resolve) => server.close(() => resolve())); // nobody listens there now
    const errors: HepError[] = [];
    const sender = new HepSender({ target: `127.0.0.1:${port}`, transport: 'tcp', maxQueue: 3, onError: (e) => errors.push(e) });
    closers.push(() => sender.close());
    const results = Array.from({ length: 10 }, () => sender.send(new Uint8Array([1, 2, 3])));
    expect(results.filter(Boolean)).toHaveLength(3);
    expect(sender.stats()).toMatchObject({ queued: 3, dropped: 7, sent: 0 });
    await until(() => errors.length > 0);
    expect(errors[0]).toBeInstanceOf(HepError);
    expect(isHepError(errors[0])).toBe(true);
    expect(errors[0]?.code).toBe('ERR_SEND');
    await sender.close();
    expect(sender.stats()).toMatchObject({ queued: 0, dropped: 10 });
    expect(sender.send(new Uint8Array([1]))).toBe(false);
  });

  test('UDP: more than maxQueue in flight are dropped', () => {
    const sender = new HepSender({ target: '127.0.0.1:9', maxQueue: 2 });
    closers.push(() => sender.close());
    for (let i = 0; i < 5; i++) sender.send(new Uint8Array([1]));
    expect(sender.stats()).toMatchObject({ sent: 2, dropped: 3 });
  });

  test('options are checked', () => {
    expect(() => new HepSender({ target: 'nohost' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => new HepSender({ target: '127.0.0.1:0' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => new HepSender({ target: '127.0.0.1:9060', transport: 'sctp' as 'udp' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => new HepSender({ target: '127.0.0.1:9060', maxQueue: 0 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    expect(() => new HepCapture({ target: '127.0.0.1:9060', captureId: -1 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION' }));
    const v6 = new HepSender({ target: '[::1]:9060' });
    closers.push(() => v6.close());
  });
});

describe('callIdOf', () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  test('long and compact forms, any case, spaces around the colon', () => {
    expect(callIdOf(enc('INVITE sip:a SIP/2.0\r\nVia: x\r\nCall-ID: abc@h\r\n\r\n'))).toBe('abc@h');
    expect(callIdOf(enc('SIP/2.0 200 OK\r\nCALL-id :  x y \r\n\r\n'))).toBe('x y');
    expect(callIdOf(enc('BYE sip:a SIP/2.0\r\nI: compact\r\n\r\n'))).toBe('compact');
  });
  test('none, or only in the body, or a header that merely starts like it', () => {
    expect(callIdOf(enc('INVITE sip:a SIP/2.0\r\nVia: x\r\n\r\nCall-ID: body'))).toBeUndefined();
    expect(callIdOf(enc('INVITE sip:a SIP/2.0\r\nCall-Info: <x>\r\nIdentity: y\r\n\r\n'))).toBeUndefined();
    expect(callIdOf(enc('garbage'))).toBeUndefined();
  });
});
