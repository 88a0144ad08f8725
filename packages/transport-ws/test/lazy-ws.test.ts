// `ws` is loaded at the first listen() or outgoing connection, not when the package is
// imported (an application without a WebSocket port never loads it). Each test gets a fresh
// module registry in which `ws` is a spy around the real package.

type TransportModule = typeof import('@sipts/transport-ws');

/**
 * Runs `body` in a fresh module registry where `ws` is the real package behind a counter. The
 * whole body runs inside the isolation, so that a lazy `ws` load lands in that registry.
 */
async function inFreshRegistry(body: (module: TransportModule, wsLoads: () => number) => Promise<void>): Promise<void> {
  let loads = 0;
  await jest.isolateModulesAsync(async () => {
    jest.doMock('ws', () => {
      loads++;
      return jest.requireActual<typeof import('ws')>('ws');
    });
    const module = await import('@sipts/transport-ws');
    await body(module, () => loads);
  });
}

afterAll(() => {
  jest.dontMock('ws');
});

describe('ws is loaded lazily', () => {
  it('not on import nor construction; once, at listen()', async () => {
    await inFreshRegistry(async (module, wsLoads) => {
      const transport = new module.WsTransport({ ws_port: 0, address: '127.0.0.1' });
      expect(wsLoads()).toBe(0);
      try {
        await transport.listen();
        expect(wsLoads()).toBe(1);
      } finally {
        await transport.close();
      }
    });
  });

  it('at the first outgoing connection, with sends made meanwhile kept in order on one connection', async () => {
    // The peer: a plain `ws` server selecting `sip` (the real package, not the counted one).
    const { WebSocketServer } = jest.requireActual<typeof import('ws')>('ws');
    const peer = new WebSocketServer({ host: '127.0.0.1', port: 0, handleProtocols: () => 'sip' });
    await new Promise<void>((resolve) => peer.once('listening', () => resolve()));
    const port = (peer.address() as { port: number }).port;
    let connections = 0;
    const received: string[] = [];
    const three = new Promise<void>((resolve) => {
      peer.on('connection', (socket) => {
        connections++;
        socket.on('message', (data) => {
          received.push(/Call-ID: (\w+)/.exec(String(data))?.[1] ?? '?');
          if (received.length === 3) resolve();
        });
      });
    });
    try {
      await inFreshRegistry(async (module, wsLoads) => {
        const sender = new module.WsTransport();
        try {
          expect(wsLoads()).toBe(0);
          const target = { protocol: 'WS', address: '127.0.0.1', port };
          await Promise.all(['a', 'b', 'c'].map((callId) => sender.send(options(callId), target)));
          await three;
          expect(wsLoads()).toBe(1);
          expect(received).toEqual(['a', 'b', 'c']);
          expect(connections).toBe(1);
        } finally {
          await sender.close();
        }
      });
    } finally {
      for (const client of peer.clients) client.terminate();
      await new Promise<void>((resolve) => peer.close(() => resolve()));
    }
  });
});

function options(callId: string): string {
  return [
    'OPTIONS sip:server.invalid SIP/2.0',
    'Via: SIP/2.0/WS client.invalid;branch=z9hG4bKlazy',
    'Max-Forwards: 70',
    'To: <sip:server.invalid>',
    'From: <sip:client.invalid>;tag=lazy',
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}
