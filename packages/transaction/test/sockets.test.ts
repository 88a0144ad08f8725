// On real sockets (127.0.0.1, port 0): retransmissions appear on the wire over UDP and never
// over TCP, for a client and a server transaction. Tiny Transports over node:dgram and node:net
// live here so this package's tests depend on no transport package.
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { makeResponse, parse, stringify, StreamFramer, type Remote, type SipMessage, type SipRequest } from '@sipts/message';
import { TransactionLayer, type BoundAddress, type Transport, type TransportProtocol } from '@sipts/transaction';

type Deliver = (message: SipMessage, remote: Remote, transport: Transport) => void;

abstract class MiniTransport implements Transport {
  abstract readonly protocol: TransportProtocol;
  abstract readonly reliable: boolean;
  deliver: Deliver = () => {};
  abstract listen(): Promise<BoundAddress>;
  abstract address(): BoundAddress | undefined;
  abstract send(data: Uint8Array | string, target: Remote): Promise<void>;
  abstract close(): Promise<void>;
  on(): this {
    return this;
  }
  off(): this {
    return this;
  }
}

class MiniUdp extends MiniTransport {
  readonly protocol = 'UDP';
  readonly reliable = false;
  private readonly socket = dgram.createSocket('udp4');
  constructor() {
    super();
    this.socket.on('message', (buf, rinfo) => {
      this.deliver(parse(buf), { protocol: 'UDP', address: rinfo.address, port: rinfo.port }, this);
    });
  }
  listen(): Promise<BoundAddress> {
    return new Promise((resolve) => this.socket.bind(0, '127.0.0.1', () => resolve(this.address()!)));
  }
  address(): BoundAddress {
    const a = this.socket.address();
    return { address: a.address, port: a.port, family: 'IPv4' };
  }
  send(data: Uint8Array | string, target: Remote): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.send(typeof data === 'string' ? Buffer.from(data) : data, target.port, target.address, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

class MiniTcp extends MiniTransport {
  readonly protocol = 'TCP';
  readonly reliable = true;
  private readonly server = net.createServer((socket) => this.adopt(socket));
  private readonly connections = new Map<string, net.Socket>();

  private adopt(socket: net.Socket): void {
    const remote: Remote = { protocol: 'TCP', address: socket.remoteAddress!, port: socket.remotePort! };
    this.connections.set(`${remote.address}:${remote.port}`, socket);
    const framer = new StreamFramer({
      onMessage: (m) => this.deliver(m, remote, this),
      onError: () => socket.destroy(),
    });
    socket.on('data', (chunk) => framer.push(chunk));
    socket.on('error', () => {});
  }
  listen(): Promise<BoundAddress> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve(this.address()!)));
  }
  address(): BoundAddress {
    const a = this.server.address() as net.AddressInfo;
    return { address: a.address, port: a.port, family: 'IPv4' };
  }
  async send(data: Uint8Array | string, target: Remote): Promise<void> {
    let socket = this.connections.get(`${target.address}:${target.port}`);
    if (!socket) {
      socket = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(target.port, target.address, () => resolve(s));
        s.once('error', reject);
      });
      this.adopt(socket);
    }
    const s = socket;
    await new Promise<void>((resolve, reject) => s.write(data, (err) => (err ? reject(err) : resolve())));
  }
  close(): Promise<void> {
    for (const s of this.connections.values()) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Polls `condition` every 5 ms, at most `limitMs`. */
async function waitFor(condition: () => boolean, limitMs = 3000): Promise<void> {
  for (let waited = 0; waited < limitMs && !condition(); waited += 5) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A peer: a raw socket that records the messages it receives. */
interface Peer {
  received: Array<{ text: string; message: SipMessage }>;
  remote: Remote;
  reply(text: string): void;
  close(): Promise<void>;
}

async function udpPeer(): Promise<Peer> {
  const socket = dgram.createSocket('udp4');
  const received: Peer['received'] = [];
  let last: dgram.RemoteInfo | undefined;
  socket.on('message', (buf, rinfo) => {
    last = rinfo;
    received.push({ text: buf.toString('utf8'), message: parse(buf) });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return {
    received,
    remote: { protocol: 'UDP', address: '127.0.0.1', port: socket.address().port },
    reply: (text) => socket.send(Buffer.from(text), last!.port, last!.address),
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  };
}

async function tcpPeer(): Promise<Peer & { connect(target: BoundAddress): Promise<void> }> {
  const received: Peer['received'] = [];
  let connection: net.Socket | undefined;
  const sockets: net.Socket[] = [];
  const attach = (socket: net.Socket): void => {
    connection = socket;
    sockets.push(socket);
    socket.on('error', () => {});
    const framer = new StreamFramer({
      onMessage: (m) => received.push({ text: stringify(m), message: m }),
      onError: () => socket.destroy(),
    });
    socket.on('data', (chunk) => framer.push(chunk));
  };
  const server = net.createServer(attach);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    received,
    remote: { protocol: 'TCP', address: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
    reply: (text) => connection!.write(text),
    connect: (target) =>
      new Promise<void>((resolve) => {
        const s = net.connect(target.port, target.address, () => resolve());
        attach(s);
      }),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function options(): SipRequest {
  return parse(
    [
      'OPTIONS sip:peer@127.0.0.1 SIP/2.0',
      'Via: SIP/2.0/UDP 127.0.0.1:5060',
      'Max-Forwards: 70',
      'From: <sip:a@127.0.0.1>;tag=1',
      'To: <sip:peer@127.0.0.1>',
      'Call-ID: wire-options',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  ) as SipRequest;
}

function invite(protocol: string): string {
  return [
    'INVITE sip:uas@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/${protocol} 127.0.0.1:5999;branch=z9hG4bKwire${protocol}`,
    'Max-Forwards: 70',
    'From: <sip:a@127.0.0.1>;tag=1',
    'To: <sip:uas@127.0.0.1>',
    `Call-ID: wire-invite-${protocol}`,
    'CSeq: 1 INVITE',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

// Short timers so the UDP retransmissions show quickly: T1 = 20 ms, T2 = 80 ms.
function layerOn(transport: MiniTransport): TransactionLayer {
  const layer = new TransactionLayer({
    t1: 20,
    t2: 80,
    onRequest: (rq, _remote, tx) => tx.send(makeResponse(rq, 486, 'Busy Here')),
  });
  transport.deliver = (m, remote, t) => layer.receive(m, remote, t);
  return layer;
}

describe('on real sockets', () => {
  test('client: UDP retransmits the same bytes until the response; TCP sends once', async () => {
    const udp = new MiniUdp();
    const tcp = new MiniTcp();
    await udp.listen();
    await tcp.listen();
    const layer = layerOn(udp);
    tcp.deliver = (m, remote, t) => layer.receive(m, remote, t);
    const udpPeerSocket = await udpPeer();
    const tcpPeerSocket = await tcpPeer();
    try {
      const udpStatuses: number[] = [];
      layer.sendRequest(options(), udp, udpPeerSocket.remote, (rs) => udpStatuses.push(rs.status));
      await waitFor(() => udpPeerSocket.received.length >= 3);
      expect(udpPeerSocket.received.length).toBeGreaterThanOrEqual(3);
      const first = udpPeerSocket.received[0]!.text;
      expect(udpPeerSocket.received.every((r) => r.text === first)).toBe(true);
      udpPeerSocket.reply(stringify(makeResponse(udpPeerSocket.received[0]!.message as SipRequest, 200, 'OK')));
      await waitFor(() => udpStatuses.length > 0);
      expect(udpStatuses).toEqual([200]);
      await sleep(50); // a copy already in flight when the 200 arrived
      const copies = udpPeerSocket.received.length;
      await sleep(200);
      expect(udpPeerSocket.received.length).toBe(copies);

      const tcpStatuses: number[] = [];
      const tcpRequest = options();
      tcpRequest.headers.via![0]!.protocol = 'TCP';
      layer.sendRequest(tcpRequest, tcp, tcpPeerSocket.remote, (rs) => tcpStatuses.push(rs.status));
      await waitFor(() => tcpPeerSocket.received.length >= 1);
      await sleep(300); // UDP would have retransmitted about five times by now
      expect(tcpPeerSocket.received).toHaveLength(1);
      tcpPeerSocket.reply(stringify(makeResponse(tcpPeerSocket.received[0]!.message as SipRequest, 200, 'OK')));
      await waitFor(() => tcpStatuses.length > 0);
      expect(tcpStatuses).toEqual([200]);
      expect(layer.stats().retransmissions.E).toBe(copies - 1);
    } finally {
      layer.shutdown();
      await Promise.all([udp.close(), tcp.close(), udpPeerSocket.close(), tcpPeerSocket.close()]);
    }
  });

  test('server: UDP retransmits the final until the ACK; TCP sends it once', async () => {
    const udp = new MiniUdp();
    const tcp = new MiniTcp();
    const udpAddress = await udp.listen();
    const tcpAddress = await tcp.listen();
    const layer = layerOn(udp);
    tcp.deliver = (m, remote, t) => layer.receive(m, remote, t);
    const tcpPeerSocket = await tcpPeer();
    try {
      // UDP: the peer sends an INVITE and withholds the ACK.
      const states: string[] = [];
      layer.on('state', (tx, _from, to) => {
        if (tx.kind === 'invite-server') states.push(to);
      });
      const peerSocket = dgram.createSocket('udp4');
      const finals: string[] = [];
      peerSocket.on('message', (buf) => finals.push(buf.toString('utf8')));
      await new Promise<void>((resolve) => peerSocket.bind(0, '127.0.0.1', () => resolve()));
      try {
        const inviteText = invite('UDP');
        peerSocket.send(Buffer.from(inviteText), udpAddress.port, udpAddress.address);
        await waitFor(() => finals.length >= 3);
        expect(finals.length).toBeGreaterThanOrEqual(3);
        expect(finals.every((f) => f === finals[0] && f.startsWith('SIP/2.0 486 Busy Here'))).toBe(true);
        const ack = inviteText.replace('INVITE sip:', 'ACK sip:').replace('CSeq: 1 INVITE', 'CSeq: 1 ACK');
        peerSocket.send(Buffer.from(ack), udpAddress.port, udpAddress.address);
        await waitFor(() => states.includes('confirmed'));
        expect(states).toEqual(['completed', 'confirmed']);
        await sleep(50); // a copy already in flight when the ACK arrived
        const count = finals.length;
        await sleep(200);
        expect(finals.length).toBe(count);
      } finally {
        await new Promise<void>((resolve) => peerSocket.close(() => resolve()));
      }

      // TCP: the same without an ACK; one 486 only.
      await tcpPeerSocket.connect(tcpAddress);
      tcpPeerSocket.reply(invite('TCP'));
      await waitFor(() => tcpPeerSocket.received.length >= 1);
      await sleep(300);
      expect(tcpPeerSocket.received.map((r) => r.text.slice(0, 11))).toEqual(['SIP/2.0 486']);
    } finally {
      layer.shutdown();
      await Promise.all([udp.close(), tcp.close(), tcpPeerSocket.close()]);
    }
  });
});
