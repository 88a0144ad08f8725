// RFC 5626 end to end against pnpm start's registrar-proxy (in-process, 127.0.0.1, port 0), with
// raw sockets as the outbound client: the REGISTER's 200 (Require: outbound, Flow-Timer), the
// keep-alives (a STUN Binding request on the UDP SIP port, RFC 5626 §4.4.1 / RFC 5389; CRLFCRLF
// answered with a CRLF on TCP), a request for the user delivered over the client's own TCP flow,
// and the binding dropped when that connection closes. And NAT, simulated on loopback: a phone
// that believes it is 127.0.0.5:5099 (its Via and Contact) but sends from 127.0.0.1 is reached
// where its REGISTER came from.
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { create, type SipStack } from '@sipts/core';
import { createRegistrar } from '@sipts/registrar';
import { startRegistrarProxy } from '../../../../examples/registrar-proxy.js';

jest.setTimeout(20_000);
const running: SipStack[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

const INSTANCE = '"<urn:uuid:00000000-0000-1000-8000-00000000abcd>"';

function register(transport: 'UDP' | 'TCP', localPort: number, serverPort: number, user: string, contactPort = localPort): string {
  return [
    `REGISTER sip:127.0.0.1:${serverPort} SIP/2.0`,
    `Via: SIP/2.0/${transport} 127.0.0.1:${localPort};branch=z9hG4bK-ob-${user};rport`,
    `From: <sip:${user}@127.0.0.1>;tag=ob1`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: outbound-${user}`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:${user}@127.0.0.1:${contactPort};transport=${transport.toLowerCase()};ob>;+sip.instance=${INSTANCE};reg-id=1`,
    'Supported: outbound, path',
    'Expires: 600',
    'Max-Forwards: 70',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function serve(): Promise<{ udp: number; tcp: number; registrar: ReturnType<typeof createRegistrar> }> {
  const registrar = createRegistrar();
  const stack = startRegistrarProxy({ address: '127.0.0.1', port: 0, registrar });
  running.push(stack);
  stack.once('close', () => void registrar.close());
  const addresses = await stack.ready();
  return { udp: addresses.find((a) => a.protocol === 'UDP')!.port, tcp: addresses.find((a) => a.protocol === 'TCP')!.port, registrar };
}

/** Reads from a TCP socket until `done(text)` says enough. */
function readUntil(socket: Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out; read so far: ${JSON.stringify(text)}`)), 5000);
    const onData = (d: Buffer): void => {
      text += d.toString('latin1');
      if (done(text)) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
  });
}

test('UDP: the 200 says Require: outbound and Flow-Timer: 25; a STUN Binding request on the SIP port is answered', async () => {
  const { udp } = await serve();
  const client = createSocket('udp4');
  await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
  const localPort = client.address().port;
  try {
    const next = (): Promise<Buffer> => new Promise((resolve) => client.once('message', (m) => resolve(m)));
    let reply = next();
    client.send(register('UDP', localPort, udp, 'udpob'), udp, '127.0.0.1');
    const ok = (await reply).toString('latin1');
    expect(ok).toMatch(/^SIP\/2\.0 200 /);
    expect(ok).toMatch(/\r\nRequire: outbound\r\n/i);
    expect(ok).toMatch(/\r\nFlow-Timer: 25\r\n/i);
    // RFC 5389 §6 Binding request: type 0x0001, length 0, magic cookie, 96-bit transaction id.
    const id = randomBytes(12);
    const stun = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), id]);
    reply = next();
    client.send(stun, udp, '127.0.0.1');
    const answer = await reply;
    expect(answer.readUInt16BE(0)).toBe(0x0101); // Binding success response
    expect(answer.subarray(8, 20).equals(id)).toBe(true);
    // XOR-MAPPED-ADDRESS (0x0020): our port XORed with the cookie's top 16 bits.
    let at = 20;
    let mappedPort = -1;
    while (at + 4 <= answer.length) {
      const type = answer.readUInt16BE(at);
      const length = answer.readUInt16BE(at + 2);
      if (type === 0x0020) mappedPort = answer.readUInt16BE(at + 6) ^ 0x2112;
      at += 4 + Math.ceil(length / 4) * 4;
    }
    expect(mappedPort).toBe(localPort);
  } finally {
    client.close();
  }
});

test('TCP: Flow-Timer: 110, CRLFCRLF answered with CRLF, a request for the user arrives over the flow, and the binding goes with the connection', async () => {
  const { udp, tcp, registrar } = await serve();
  const socket = connect(tcp, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  try {
    const localPort = socket.localPort as number;
    // The Contact names a port nobody listens on: only the flow reaches this client.
    socket.write(register('TCP', localPort, tcp, 'tcpob', 9));
    const ok = await readUntil(socket, (t) => t.includes('\r\n\r\n'));
    expect(ok).toMatch(/^SIP\/2\.0 200 /);
    expect(ok).toMatch(/\r\nRequire: outbound\r\n/i);
    expect(ok).toMatch(/\r\nFlow-Timer: 110\r\n/i);

    socket.write('\r\n\r\n');
    expect(await readUntil(socket, (t) => t.length >= 2)).toBe('\r\n');

    // A caller over UDP: the proxy reaches the client over the connection it registered on.
    const caller = create({ address: '127.0.0.1', port: 0, tcp: false });
    running.push(caller);
    await caller.ready();
    const arrives = readUntil(socket, (t) => t.includes('\r\n\r\n'));
    const sent = caller.request({
      method: 'MESSAGE',
      uri: `sip:tcpob@127.0.0.1:${udp}`,
      headers: {
        to: { uri: 'sip:tcpob@127.0.0.1', params: {} },
        from: { uri: 'sip:caller@127.0.0.1', params: { tag: 'c1' } },
        'call-id': 'outbound-message',
        cseq: { seq: 1, method: 'MESSAGE' },
      },
    });
    const message = await arrives;
    expect(message).toMatch(/^MESSAGE sip:tcpob@127\.0\.0\.1:9;transport=tcp;ob SIP\/2\.0\r\n/);
    // Answer it on the same connection: copy Via, From, To, Call-ID, CSeq.
    const head = message.split('\r\n\r\n')[0]!.split('\r\n');
    const keep = head.filter((l) => /^(via|from|to|call-id|cseq|v|f|t|i):/i.test(l)).map((l) => (/^(to|t):/i.test(l) ? `${l};tag=ob` : l));
    socket.write(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'));
    expect((await sent).status).toBe(200);

    const gone = new Promise((resolve) => registrar.once('unregistered', resolve));
    socket.destroy();
    await gone;
    expect((await registrar.lookup('sip:tcpob@127.0.0.1')).outcome).toBe('not-registered');
  } finally {
    socket.destroy();
  }
});

test('NAT on loopback: a phone whose Via and Contact say 127.0.0.5:5099 is reached at the address its REGISTER came from', async () => {
  const { udp } = await serve();
  const phone = createSocket('udp4');
  await new Promise<void>((r) => phone.bind(0, '127.0.0.1', () => r()));
  try {
    const next = (): Promise<string> => new Promise((resolve) => phone.once('message', (m) => resolve(m.toString('latin1'))));
    let reply = next();
    const rq = register('UDP', 5099, udp, 'natted')
      .replace(/Via: SIP\/2\.0\/UDP 127\.0\.0\.1:5099/, 'Via: SIP/2.0/UDP 127.0.0.5:5099')
      .replace(/Contact: [^\r]*/, 'Contact: <sip:natted@127.0.0.5:5099>')
      .replace('Supported: outbound, path\r\n', '');
    phone.send(rq, udp, '127.0.0.1');
    expect(await reply).toMatch(/^SIP\/2\.0 200 /);
    const caller = create({ address: '127.0.0.1', port: 0, tcp: false });
    running.push(caller);
    await caller.ready();
    reply = next();
    const sent = caller.request({
      method: 'MESSAGE',
      uri: `sip:natted@127.0.0.1:${udp}`,
      headers: {
        to: { uri: 'sip:natted@127.0.0.1', params: {} },
        from: { uri: 'sip:caller@127.0.0.1', params: { tag: 'c2' } },
        'call-id': 'nat-message',
        cseq: { seq: 1, method: 'MESSAGE' },
      },
    });
    const message = await reply;
    expect(message).toMatch(/^MESSAGE sip:natted@127\.0\.0\.5:5099 SIP\/2\.0\r\n/);
    const head = message.split('\r\n\r\n')[0]!.split('\r\n');
    const keep = head.filter((l) => /^(via|from|to|call-id|cseq|v|f|t|i):/i.test(l)).map((l) => (/^(to|t):/i.test(l) ? `${l};tag=nat` : l));
    phone.send(['SIP/2.0 200 OK', ...keep, 'Content-Length: 0', '', ''].join('\r\n'), udp, '127.0.0.1');
    expect((await sent).status).toBe(200);
  } finally {
    phone.close();
  }
});
