// Path (RFC 3327), outbound (RFC 5626), GRUU (RFC 5627), NAT and flows, each rule on its own.
import { EventEmitter } from 'node:events';
import type { Remote, SipUri } from '@sipts/message';
import { createRegistrar, isBehindNat, isPrivateAddress, type LookupResult, type Registrar, type RegistrarTarget } from '@sipts/registrar';
import { contactsOf, registerRequest, UDP_SOURCE } from './helpers';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);
const INSTANCE = '"<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"';
const INSTANCE2 = '"<urn:uuid:00000000-0000-1000-8000-000A95A0E129>"';
const TCP_FLOW: Remote = { protocol: 'TCP', address: '127.0.0.1', port: 40001, local: { address: '127.0.0.1', port: 5060 } };
const TCP_FLOW2: Remote = { protocol: 'TCP', address: '127.0.0.1', port: 40002, local: { address: '127.0.0.1', port: 5060 } };

/** The part of a core stack the registrar uses: flow URIs and connection events. */
class FakeStack extends EventEmitter {
  encodeFlowUri(flow: Remote): SipUri {
    return { schema: 'sip', user: `flow-${flow.protocol}-${flow.address}-${flow.port}`, host: '127.0.0.1', port: 5060, params: {}, headers: {} };
  }
}

let registrar: Registrar;
let stack: FakeStack;
beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
  registrar = createRegistrar();
  stack = new FakeStack();
  registrar.attach(stack);
});
afterEach(async () => {
  await registrar.close();
  jest.useRealTimers();
});

function targets(found: LookupResult): RegistrarTarget[] {
  if (found.outcome !== 'found') throw new Error(`lookup: ${found.outcome}`);
  return found.targets;
}

const routeText = (t: RegistrarTarget): string[] => t.route.map((r) => `${r.uri.user ?? ''}@${r.uri.host}${r.uri.port ? `:${r.uri.port}` : ''}`);

describe('Path (RFC 3327)', () => {
  const path = ['<sip:p1@127.0.0.2:5060;lr>', '<sip:edge@127.0.0.3:5060;lr>'];

  test('stored with the binding, echoed in the 200, and the preloaded route towards it', async () => {
    const rs = await registrar.register(registerRequest({ contacts: ['<sip:alice@127.0.0.9:5070>'], supported: 'path', path }), UDP_SOURCE);
    expect(rs.status).toBe(200);
    expect(rs.headers.path?.map((p) => p.uri.user)).toEqual(['p1', 'edge']);
    const [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(t?.uri).toBe('sip:alice@127.0.0.9:5070');
    expect(routeText(t!)).toEqual(['p1@127.0.0.2:5060', 'edge@127.0.0.3:5060']);
    expect(t?.flow).toBeUndefined(); // the edge proxy reaches the UA, not us
  });

  test('a Path from a UA without Supported: path is refused 420 (Unsupported: path), or stored silently', async () => {
    const rs = await registrar.register(registerRequest({ contacts: ['<sip:alice@127.0.0.9:5070>'], path }), UDP_SOURCE);
    expect([rs.status, rs.headers['unsupported']]).toEqual([420, 'path']);
    await registrar.close();
    registrar = createRegistrar({ pathWithoutSupport: 'store' });
    const stored = await registrar.register(registerRequest({ contacts: ['<sip:alice@127.0.0.9:5070>'], path }), UDP_SOURCE);
    expect(stored.status).toBe(200);
    expect(stored.headers.path).toBeUndefined();
    expect(routeText(targets(await registrar.lookup('sip:alice@127.0.0.1'))[0]!)).toHaveLength(2);
  });
});

describe('outbound (RFC 5626)', () => {
  const ob = (regId: number, instance = INSTANCE, port = 40001): string =>
    `<sip:alice@127.0.0.1:${port};transport=tcp;ob>;+sip.instance=${instance};reg-id=${regId}`;

  test('a flow per instance and reg-id: Require: outbound, Flow-Timer, reached over its connection', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [ob(1)], supported: 'outbound, path' }), TCP_FLOW);
    expect(rs.status).toBe(200);
    expect(rs.headers['require']).toBe('outbound');
    expect(rs.headers['flow-timer']).toBe('110');
    const [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(t?.flow).toMatchObject({ protocol: 'TCP', port: 40001 });
    expect(routeText(t!)).toEqual(['flow-TCP-127.0.0.1-40001@127.0.0.1:5060']);
    expect(t?.route[0]?.uri.params).toHaveProperty('lr');
    expect(t?.binding).toMatchObject({ key: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>;reg-id=1', regId: 1 });
  });

  test('over UDP the Flow-Timer is the datagram one', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [ob(1)], supported: 'outbound' }), UDP_SOURCE);
    expect(rs.headers['flow-timer']).toBe('25');
  });

  test('a REGISTER on a new flow for the same reg-id replaces the old flow; two reg-ids make one target with an alternate', async () => {
    await registrar.register(registerRequest({ callId: 'a', contacts: [ob(1)], supported: 'outbound' }), TCP_FLOW);
    jest.setSystemTime(T0 + 1000);
    await registrar.register(registerRequest({ callId: 'b', contacts: [ob(1, INSTANCE, 40002)], supported: 'outbound' }), TCP_FLOW2);
    let all = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(all).toHaveLength(1);
    expect(all[0]?.flow?.port).toBe(40002);
    jest.setSystemTime(T0 + 2000);
    await registrar.register(registerRequest({ callId: 'c', contacts: [ob(2)], supported: 'outbound' }), TCP_FLOW);
    all = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(all).toHaveLength(1);
    expect(all[0]?.binding.regId).toBe(2); // the most recent flow first (§5.3)
    expect(all[0]?.alternates.map((a) => a.binding.regId)).toEqual([1]);
  });

  test('two reg-id Contacts in one REGISTER: 400', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [ob(1), ob(2)], supported: 'outbound' }), TCP_FLOW);
    expect(rs.status).toBe(400);
  });

  test('through a first hop without ob in its Path: 439; with ob: outbound applies, no Flow-Timer, routed by Path', async () => {
    const bad = await registrar.register(registerRequest({ contacts: [ob(1)], supported: 'outbound, path', path: ['<sip:edge@127.0.0.3;lr>'] }), UDP_SOURCE);
    expect(bad.status).toBe(439);
    const good = await registrar.register(registerRequest({ contacts: [ob(1)], supported: 'outbound, path', path: ['<sip:edge@127.0.0.3;lr;ob>'] }), UDP_SOURCE);
    expect(good.status).toBe(200);
    expect(good.headers['require']).toBe('outbound');
    expect(good.headers['flow-timer']).toBeUndefined();
    const [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect([routeText(t!), t?.flow]).toEqual([['edge@127.0.0.3'], undefined]);
  });

  test('without Supported: outbound, reg-id is ignored: an ordinary binding keyed by its instance', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [ob(1)] }), TCP_FLOW);
    expect(rs.headers['require']).toBeUndefined();
    expect(targets(await registrar.lookup('sip:alice@127.0.0.1'))[0]?.binding.regId).toBeUndefined();
  });

  test('the flow closes: its bindings go (unregistered, reason flow); a binding moved to another flow stays', async () => {
    const gone: string[] = [];
    registrar.on('unregistered', (e) => gone.push(`${e.reason} ${e.binding.key}`));
    await registrar.register(registerRequest({ callId: 'a', contacts: [ob(1)], supported: 'outbound' }), TCP_FLOW);
    await registrar.register(registerRequest({ callId: 'b', contacts: [ob(2)], supported: 'outbound' }), TCP_FLOW);
    // reg-id 2 moves to another connection.
    await registrar.register(registerRequest({ callId: 'b', cseq: 2, contacts: [ob(2)], supported: 'outbound' }), TCP_FLOW2);
    stack.emit('connectionClose', TCP_FLOW);
    await jest.advanceTimersByTimeAsync(0);
    expect(gone).toEqual(['flow <urn:uuid:00000000-0000-1000-8000-000A95A0E128>;reg-id=1']);
    expect(targets(await registrar.lookup('sip:alice@127.0.0.1')).map((t) => t.flow?.port)).toEqual([40002]);
    expect((await registrar.stats()).flowsDropped).toBe(1);
  });
});

describe('GRUU (RFC 5627)', () => {
  const inst = (instance: string, port: number): string => `<sip:alice@127.0.0.1:${port}>;+sip.instance=${instance}`;

  test('public and temporary GRUUs in the 200 of a REGISTER with Supported: gruu; a new temp-gruu each time', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [inst(INSTANCE, 5070)], supported: 'gruu' }), UDP_SOURCE);
    const p = contactsOf(rs).get('sip:alice@127.0.0.1:5070');
    expect(p?.['pub-gruu']).toBe('"sip:alice@127.0.0.1;gr=urn:uuid:00000000-0000-1000-8000-000A95A0E128"');
    expect(p?.['temp-gruu']).toMatch(/^"sip:tgruu\.[A-Za-z0-9_-]+@127\.0\.0\.1;gr"$/);
    const again = await registrar.register(registerRequest({ cseq: 2, contacts: [inst(INSTANCE, 5070)], supported: 'gruu' }), UDP_SOURCE);
    expect(contactsOf(again).get('sip:alice@127.0.0.1:5070')?.['temp-gruu']).not.toBe(p?.['temp-gruu']);
    const plain = await registrar.register(registerRequest({ cseq: 3, contacts: [inst(INSTANCE, 5070)] }), UDP_SOURCE);
    expect(contactsOf(plain).get('sip:alice@127.0.0.1:5070')?.['pub-gruu']).toBeUndefined();
  });

  test('a request for a GRUU reaches that instance only; a foreign temp GRUU is unknown; a new Call-ID retires old temp GRUUs', async () => {
    const rs = await registrar.register(registerRequest({ contacts: [inst(INSTANCE, 5070), inst(INSTANCE2, 5071)], supported: 'gruu' }), UDP_SOURCE);
    expect(targets(await registrar.lookup('sip:alice@127.0.0.1'))).toHaveLength(2);
    const c = contactsOf(rs).get('sip:alice@127.0.0.1:5071')!;
    const pub = String(c['pub-gruu']).slice(1, -1);
    const temp = String(c['temp-gruu']).slice(1, -1);
    expect(targets(await registrar.lookup(pub)).map((t) => t.uri)).toEqual(['sip:alice@127.0.0.1:5071']);
    expect(targets(await registrar.lookup(temp)).map((t) => t.uri)).toEqual(['sip:alice@127.0.0.1:5071']);
    expect((await registrar.lookup('sip:tgruu.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@127.0.0.1;gr')).outcome).toBe('unknown-gruu');
    const other = createRegistrar();
    expect((await other.lookup(temp)).outcome).toBe('unknown-gruu'); // sealed under another secret
    await other.close();
    // The instance registers again after a restart (new Call-ID): the old temp GRUU is retired.
    await registrar.register(registerRequest({ callId: 'after-reboot', contacts: [inst(INSTANCE2, 5071)], supported: 'gruu' }), UDP_SOURCE);
    expect((await registrar.lookup(temp)).outcome).toBe('not-registered');
    expect(targets(await registrar.lookup(pub))).toHaveLength(1);
  });

  test('a shared gruuSecret lets another node read the temp GRUU', async () => {
    await registrar.close();
    registrar = createRegistrar({ gruuSecret: 'cluster secret' });
    const rs = await registrar.register(registerRequest({ contacts: [inst(INSTANCE, 5070)], supported: 'gruu' }), UDP_SOURCE);
    const temp = String(contactsOf(rs).get('sip:alice@127.0.0.1:5070')?.['temp-gruu']).slice(1, -1);
    const node2 = createRegistrar({ gruuSecret: 'cluster secret', store: registrar.store });
    expect(targets(await node2.lookup(temp))).toHaveLength(1);
  });
});

describe('NAT', () => {
  // Simulated on loopback: the phone "thinks" it is 127.0.0.5:5099; its packets come from 127.0.0.1:5070.
  const natVia = 'SIP/2.0/UDP 127.0.0.5:5099;branch=z9hG4bK-nat;rport';

  test('a UDP Contact that differs from the source, with a Via that does too, is reached at the source', async () => {
    const rs = await registrar.register(registerRequest({ via: natVia, contacts: ['<sip:alice@127.0.0.5:5099>'] }), UDP_SOURCE);
    expect(rs.status).toBe(200);
    expect(contactsOf(rs).has('sip:alice@127.0.0.5:5099')).toBe(true); // the 200 lists the Contact as registered
    const [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(t?.binding.nat).toBe(true);
    expect(t?.flow).toMatchObject({ protocol: 'UDP', address: '127.0.0.1', port: 5070 });
    expect(routeText(t!)).toEqual(['flow-UDP-127.0.0.1-5070@127.0.0.1:5060']);
  });

  test('a third-party registration (Via = source, Contact elsewhere) keeps its Contact; nat: contact treats it as NAT; off never', async () => {
    const third = registerRequest({ contacts: ['<sip:alice@127.0.0.7:5080>'] });
    await registrar.register(third, UDP_SOURCE);
    let [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect([t?.binding.nat, t?.flow, t?.route]).toEqual([undefined, undefined, []]);
    await registrar.close();
    registrar = createRegistrar({ nat: 'contact' });
    await registrar.register(registerRequest({ contacts: ['<sip:alice@127.0.0.7:5080>'] }), UDP_SOURCE);
    [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(t?.binding.nat).toBe(true);
    await registrar.close();
    registrar = createRegistrar({ nat: 'off' });
    await registrar.register(registerRequest({ via: natVia, contacts: ['<sip:alice@127.0.0.5:5099>'] }), UDP_SOURCE);
    [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(t?.binding.nat).toBeUndefined();
  });

  test('the nathelper rules, and private address ranges (strings only: nothing is sent)', () => {
    const contact = (host: string, port?: number): SipUri => ({ schema: 'sip', host, port, params: {}, headers: {} });
    const via = (host: string, port: number) => ({ version: '2.0', protocol: 'UDP', host, port, params: {} });
    const src = { protocol: 'UDP', address: '127.0.0.1', port: 5070 };
    expect(isBehindNat('auto', contact('127.0.0.1', 5070), via('127.0.0.1', 5070), src)).toBe(false);
    expect(isBehindNat('auto', contact('127.0.0.1', 5099), via('127.0.0.1', 5099), src)).toBe(true); // port rewritten by a NAT
    expect(isBehindNat('auto', contact('10.0.0.8', 5060), via('127.0.0.1', 5070), src)).toBe(true); // a private Contact
    // Streams compare addresses only: a TCP source port is ephemeral.
    expect(isBehindNat('auto', contact('127.0.0.1', 5060), via('127.0.0.1', 5060), { ...src, protocol: 'TCP', port: 40000 })).toBe(false);
    expect([isPrivateAddress('10.1.2.3'), isPrivateAddress('172.20.0.1'), isPrivateAddress('192.168.1.1'), isPrivateAddress('100.64.0.1'), isPrivateAddress('[fd00::1]')]).toEqual([true, true, true, true, true]);
    expect([isPrivateAddress('172.32.0.1'), isPrivateAddress('127.0.0.1'), isPrivateAddress('example.com')]).toEqual([false, false, false]);
  });

  test('a WebSocket client and a .invalid Contact are reached over their flow', async () => {
    const ws: Remote = { protocol: 'WS', address: '127.0.0.1', port: 40100, local: { address: '127.0.0.1', port: 8080 } };
    await registrar.register(registerRequest({ contacts: ['<sip:web@df7jal23ls0d.invalid;transport=ws>'] }), ws);
    const [t] = targets(await registrar.lookup('sip:alice@127.0.0.1'));
    expect(t?.flow).toMatchObject({ protocol: 'WS', port: 40100 });
    stack.emit('connectionClose', ws);
    await jest.advanceTimersByTimeAsync(0);
    expect((await registrar.lookup('sip:alice@127.0.0.1')).outcome).toBe('not-registered');
  });
});
