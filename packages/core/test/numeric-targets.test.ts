// A numeric next hop is sent to without asking DNS or waiting on a promise (targetsWithoutDns),
// but the response callback still never runs before send() returns, and a resolver of the
// application's is still asked for numeric hosts too.
import { makeResponse } from '@sipts/core';
import type { Resolver, SipResponse } from '@sipts/core';
import { closeAll, listeningStack, portOf, request, sendAndWait } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

test('a numeric target that fails at once (ourselves: 482) is reported after send() returns', async () => {
  const stack = await listeningStack({ tcp: false });
  const port = portOf(stack, 'UDP');
  let returned = false;
  const seen = await new Promise<{ status: number; returnedFirst: boolean }>((resolve) => {
    stack.send(request('OPTIONS', `sip:me@127.0.0.1:${port}`), (rs: SipResponse) => resolve({ status: rs.status, returnedFirst: returned }));
    returned = true;
  });
  expect(seen).toEqual({ status: 482, returnedFirst: true });
  expect(stack.stats().selfLoopsRefused).toBe(1);
});

test('a numeric target is reached with the built-in resolver', async () => {
  const uas = await listeningStack({ tcp: false }, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
  const uac = await listeningStack({ tcp: false });
  const { response } = await sendAndWait(uac, request('OPTIONS', `sip:svc@127.0.0.1:${portOf(uas, 'UDP')}`));
  expect(response.status).toBe(200);
});

test("an application's resolver is asked for a numeric host as well", async () => {
  const uas = await listeningStack({ tcp: false }, (rq, _remote, reply) => reply.reply(makeResponse(rq, 200)));
  const asked: string[] = [];
  const resolver: Resolver = {
    resolve: (uri) => {
      asked.push(`${uri.host}:${uri.port ?? ''}`);
      return Promise.resolve([{ protocol: 'UDP', address: '127.0.0.1', port: portOf(uas, 'UDP') }]);
    },
  };
  const uac = await listeningStack({ tcp: false, resolver });
  // Port 9 (discard) would never answer: only the resolver's mapping gets a 200.
  const { response } = await sendAndWait(uac, request('OPTIONS', 'sip:svc@127.0.0.1:9'));
  expect(response.status).toBe(200);
  expect(asked).toEqual(['127.0.0.1:9']);
});
