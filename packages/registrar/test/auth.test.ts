// Digest authentication of REGISTER through @sipts/digest's async server API, and the policy that
// ties the authenticated user to the AOR.
import { signRequest, type DigestClientSession } from '@sipts/digest';
import { createRegistrar, type Registrar } from '@sipts/registrar';
import { registerRequest, UDP_SOURCE } from './helpers';

const accounts = new Map([
  ['alice', 'wonderland'],
  ['bob', 'builder'],
]);
let lookups = 0;
const lookup = async (username: string): Promise<{ password: string } | undefined> => {
  lookups++;
  await new Promise((resolve) => setImmediate(resolve)); // an async database
  const password = accounts.get(username);
  return password === undefined ? undefined : { password };
};

let registrar: Registrar;
afterEach(async () => {
  await registrar.close();
});

/** REGISTER for `aor` answered to its 401 with `user`'s credentials. */
async function authenticated(aor: string, user: string, password: string, cseq = 1) {
  const first = registerRequest({ user: aor, cseq, contacts: [`<sip:${aor}@127.0.0.1:5070>`] });
  const challenge = await registrar.register(first, UDP_SOURCE);
  expect(challenge.status).toBe(401);
  expect(challenge.headers['www-authenticate']?.[0]).toMatchObject({ scheme: 'Digest', realm: '"sipts.test"' });
  const second = registerRequest({ user: aor, cseq: cseq + 1, contacts: [`<sip:${aor}@127.0.0.1:5070>`] });
  const session: DigestClientSession = {};
  expect(signRequest(session, second, challenge, { user, password })).not.toBeNull();
  return registrar.register(second, UDP_SOURCE);
}

test('a REGISTER without credentials is challenged (401, WWW-Authenticate); answered, it is accepted', async () => {
  registrar = createRegistrar({ auth: { realm: 'sipts.test', lookup } });
  const before = lookups;
  const rs = await authenticated('alice', 'alice', 'wonderland');
  expect(rs.status).toBe(200);
  expect(lookups).toBeGreaterThan(before);
  expect((await registrar.lookup('sip:alice@127.0.0.1')).outcome).toBe('found');
});

test('a wrong password is challenged again, and nothing is bound', async () => {
  registrar = createRegistrar({ auth: { realm: 'sipts.test', lookup } });
  const rs = await authenticated('alice', 'alice', 'nope');
  expect(rs.status).toBe(401);
  expect((await registrar.lookup('sip:alice@127.0.0.1')).outcome).toBe('not-registered');
  expect((await registrar.stats()).authFailures).toBeGreaterThanOrEqual(2);
});

test("the AOR must be the authenticated user's: bob registering alice gets 403, unless the policy says otherwise", async () => {
  registrar = createRegistrar({ auth: { realm: 'sipts.test', lookup } });
  expect((await authenticated('alice', 'bob', 'builder')).status).toBe(403);
  await registrar.close();
  const seen: string[] = [];
  registrar = createRegistrar({
    auth: { realm: 'sipts.test', lookup },
    authorize: async ({ user, aor }) => {
      seen.push(`${user}->${aor}`);
      return user === 'bob' && aor === 'alice'; // bob is alice's assistant
    },
  });
  expect((await authenticated('alice', 'bob', 'builder')).status).toBe(200);
  expect(seen).toEqual(['bob->alice']);
});

test('a credential lookup that fails answers 500 with Retry-After and an error event', async () => {
  registrar = createRegistrar({
    auth: {
      realm: 'sipts.test',
      lookup: () => Promise.reject(new Error('database down')),
    },
  });
  const errors: string[] = [];
  registrar.on('error', (e) => errors.push(e.code));
  const first = registerRequest({ contacts: ['<sip:alice@127.0.0.1:5070>'] });
  const challenge = await registrar.register(first, UDP_SOURCE);
  const second = registerRequest({ cseq: 2, contacts: ['<sip:alice@127.0.0.1:5070>'] });
  signRequest({}, second, challenge, { user: 'alice', password: 'wonderland' });
  const rs = await registrar.register(second, UDP_SOURCE);
  expect([rs.status, rs.headers['retry-after']]).toEqual([500, '5']);
  expect(errors).toEqual(['ERR_STORE']);
});
