import { makeResponse } from '@sipts/core';
import type { Remote, SipRequest } from '@sipts/core';
import { closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

// DESIGN.md: a stream connection idles out only when no transaction uses it. A call that rings
// past the idle timeout must still get its final response on the connection it came in on.
describe('stream connections held by transactions', () => {
  test('an INVITE left unanswered past the idle timeout keeps its TCP connection until answered', async () => {
    const idleTimeout = 200;
    const closed: Remote[] = [];
    let pending: SipRequest | undefined;
    const server = await listeningStack({ idleTimeout }, (rq) => {
      if (rq.method === 'INVITE') {
        pending = rq;
        server.send(makeResponse(rq, 180, 'Ringing'));
      }
    });
    server.on('connectionClose', (remote) => closed.push(remote));
    const client = await listeningStack({ idleTimeout });
    const invite = request('INVITE', `sip:127.0.0.1:${portOf(server, 'TCP')};transport=tcp`);
    const result = sendAndWait(client, invite, (rs) => rs.status >= 200);
    // Four idle periods with no traffic at all on the connection, then the answer.
    await new Promise((resolve) => setTimeout(resolve, idleTimeout * 4));
    expect(closed).toEqual([]);
    expect(pending).toBeDefined();
    server.send(makeResponse(pending as SipRequest, 486, 'Busy Here'));
    const { response } = await result;
    expect(response.status).toBe(486);
    // Once both transactions are over, the connection idles out as usual.
    await new Promise<void>((resolve) => {
      if (closed.length > 0) resolve();
      else server.once('connectionClose', () => resolve());
    });
    expect(closed.length).toBeGreaterThan(0);
  });
});
