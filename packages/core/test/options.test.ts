// Options: every sip option under its name, defaults as the README's table says, bad values
// refused with ERR_INVALID_OPTION; the names the stack gives itself (Via, flow URIs, hostname()).
import { create, normalizeOptions, isSipCoreError } from '@sipts/core';
import { closeAll, listeningStack } from './helpers.js';

jest.setTimeout(20_000);
afterEach(closeAll);

describe('normalizeOptions', () => {
  test('defaults', () => {
    const o = normalizeOptions({});
    expect(o).toMatchObject({
      port: 5060,
      address: undefined,
      udp: true,
      tcp: true,
      tls: undefined,
      tlsPort: 5061,
      wsPort: undefined,
      rport: true,
      maxBytesHeaders: 60480,
      maxContentLength: 604800,
      maxForwards: 70,
      mtuAllowance: 1300,
    });
  });

  test('sip semantics: rport only off when given and falsy; udp/tcp off with false', () => {
    expect(normalizeOptions({ rport: false }).rport).toBe(false);
    expect(normalizeOptions({ rport: true }).rport).toBe(true);
    expect(normalizeOptions({ udp: false, tcp: false }).udp).toBe(false);
    expect(normalizeOptions({ address: '[::1]' }).address).toBe('::1');
    expect(normalizeOptions({ ringTimeLimit: 0 }).ringTimeLimit).toBe(0);
  });

  test.each([
    [{ port: -1 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ tls_port: 70000 }, 'tls_port'],
    [{ ws_port: 'x' as unknown as number }, 'ws_port'],
    [{ address: 'example.com' }, 'address'],
    [{ publicAddress: '' }, 'publicAddress'],
    [{ hostname: '' }, 'hostname'],
    [{ maxBytesHeaders: 0 }, 'maxBytesHeaders'],
    [{ ringTimeLimit: -5 }, 'ringTimeLimit'],
    [{ 'max-forwards': 300 }, 'max-forwards'],
    [{ logger: 'console' as unknown as object }, 'logger'],
    [{ tls: 'yes' as unknown as object }, 'tls'],
  ])('%j is refused naming %s', (options, name) => {
    try {
      normalizeOptions(options);
      throw new Error('accepted');
    } catch (e) {
      expect(isSipCoreError(e) && e.code).toBe('ERR_INVALID_OPTION');
      expect((e as Error).message).toContain(`options.${name}`);
    }
  });

  test('a non-function onRequest is refused', () => {
    expect(() => create({}, 'handler' as unknown as () => void)).toThrow(/onRequest/);
  });
});

describe('the names a stack gives itself', () => {
  test('bound to an address: Via, hostname() and flow URIs use it', async () => {
    const stack = await listeningStack();
    expect(stack.sentBy()).toBe('127.0.0.1');
    expect(stack.hostname()).toBe('127.0.0.1');
    expect(stack.encodeFlowUri({ protocol: 'TCP', address: '192.0.2.1', port: 1 }).host).toBe('127.0.0.1');
  });

  test('publicAddress wins everywhere; hostname names flow URIs but never goes into Via', async () => {
    const nat = await listeningStack({ publicAddress: '203.0.113.7' });
    expect(nat.sentBy()).toBe('203.0.113.7');
    expect(nat.hostname()).toBe('203.0.113.7');
    const named = create({ port: 0, hostname: 'sip.example.test' });
    try {
      await named.ready();
      expect(named.hostname()).toBe('sip.example.test');
      expect(named.encodeFlowUri({ protocol: 'TCP', address: '192.0.2.1', port: 1 }).host).toBe('sip.example.test');
      expect(named.sentBy()).not.toBe('sip.example.test');
      expect(named.sentBy()).toMatch(/^[0-9.]+$|^\[[0-9a-f:]+\]$/);
    } finally {
      await named.close();
    }
  });

  test('an IPv6 publicAddress is bracketed in Via', async () => {
    const stack = await listeningStack({ publicAddress: '2001:db8::5' });
    expect(stack.sentBy()).toBe('[2001:db8::5]');
  });

  test('isLocalUri: our addresses with no port or our port; not another port', async () => {
    const stack = await listeningStack();
    const port = stack.addresses()[0]!.port;
    expect(stack.isLocalUri('sip:127.0.0.1')).toBe(true);
    expect(stack.isLocalUri(`sip:alice@127.0.0.1:${port}`)).toBe(true);
    expect(stack.isLocalUri(`sip:alice@127.0.0.1:${port === 65535 ? 1 : port + 1}`)).toBe(false);
    expect(stack.isLocalUri('sip:alice@192.0.2.200')).toBe(false);
  });
});
