// A raw UDP SIP peer for tests: sends text, queues what it receives (parsed), bounded waits.
import { createSocket, type Socket } from 'node:dgram';
import { parse, type SipMessage } from '@sipts/message';

export interface UdpPeer {
  readonly socket: Socket;
  readonly port: number;
  /** The next message received (waits up to `ms`). */
  next(ms?: number): Promise<SipMessage>;
  /** Send SIP text (LF line ends are turned into CRLF). */
  send(text: string, port: number): void;
  close(): void;
}

export async function udpPeer(host = '127.0.0.1'): Promise<UdpPeer> {
  const socket = createSocket('udp4');
  const queue: SipMessage[] = [];
  const waiting: ((m: SipMessage) => void)[] = [];
  socket.on('message', (data) => {
    const m = parse(data);
    const w = waiting.shift();
    if (w) w(m);
    else queue.push(m);
  });
  await new Promise<void>((r) => socket.bind(0, host, () => r()));
  return {
    socket,
    port: socket.address().port,
    next: (ms = 3000) =>
      new Promise<SipMessage>((resolve, reject) => {
        const m = queue.shift();
        if (m) {
          resolve(m);
          return;
        }
        const t = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
        waiting.push((x) => {
          clearTimeout(t);
          resolve(x);
        });
      }),
    send: (text, port) => socket.send(text.split('\n').join('\r\n'), port, host),
    close: () => socket.close(),
  };
}

let seq = 0;

/** An INVITE from `from` (a peer port) to `uri`, sent to the proxy. */
export function inviteText(uri: string, fromPort: number, extra: string[] = []): string {
  seq++;
  return [
    `INVITE ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${fromPort};branch=z9hG4bKpeer${seq};rport`,
    `From: <sip:alice@127.0.0.1>;tag=a${seq}`,
    'To: <sip:bob@example.com>',
    `Call-ID: peer-${seq}-${process.pid}@127.0.0.1`,
    'CSeq: 1 INVITE',
    `Contact: <sip:alice@127.0.0.1:${fromPort}>`,
    ...extra,
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}
