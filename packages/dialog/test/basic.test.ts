import { ANSWER, OFFER, closeAll, endpoint, until } from './helpers.js';

jest.setTimeout(15000);
afterEach(closeAll);

test('smoke: invite, accept, bye', async () => {
  const b = await endpoint();
  const a = await endpoint();
  const ended: string[] = [];
  b.ua.on('invite', (call) => {
    void call.progress(180);
    void call.accept({ sdp: ANSWER }).then((d) => d.on('terminated', (r) => ended.push(r.cause)));
  });
  const dialog = await a.ua.invite(b.uri(), { sdp: OFFER });
  expect(dialog.state).toBe('confirmed');
  expect(dialog.remoteSdp).toBe(ANSWER);
  expect(dialog.localSdp).toBe(OFFER);
  await until(() => b.ua.size === 1);
  const rs = await dialog.bye();
  expect(rs?.status).toBe(200);
  await until(() => ended.length === 1);
  expect(ended).toEqual(['remote-bye']);
  expect(a.ua.size).toBe(0);
  expect(b.ua.size).toBe(0);
});
