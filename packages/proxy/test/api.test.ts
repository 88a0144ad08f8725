import type { SipResponse } from '@sipts/message';
import * as proxy from '@sipts/proxy';
import { FakeStack, fakeStackFactory, invite } from './fake-stack.js';

afterEach(() => {
  void proxy.stop();
});

describe('the sip/proxy module API (start, stop, send)', () => {
  test('send before start throws ERR_NOT_STARTED; contextCount is 0', () => {
    expect(() => proxy.send(invite())).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }));
    expect(() => proxy.fork(invite(), [])).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }));
    expect(proxy.contextCount()).toBe(0);
  });

  test('start runs the handler in contexts; send forwards and the default callback answers upstream', () => {
    const stack = new FakeStack();
    proxy.start({ stack: fakeStackFactory(stack) }, (rq) => {
      rq.uri = 'sip:bob@10.0.0.5';
      proxy.send(rq);
    });
    stack.receive(invite());
    expect(proxy.contextCount()).toBe(1);
    const [out] = stack.sent('INVITE');
    expect(out?.request.uri).toBe('sip:bob@10.0.0.5');
    stack.answer(out!, 200);
    expect(stack.responses.map((r: SipResponse) => r.status)).toEqual([100, 200]);
    expect(proxy.contextCount()).toBe(0);
  });

  test('stop destroys the stack; a second start replaces the first proxy', () => {
    const first = new FakeStack();
    const second = new FakeStack();
    proxy.start({ stack: fakeStackFactory(first) }, () => undefined);
    proxy.start({ stack: fakeStackFactory(second) }, () => undefined);
    expect(first.destroyed).toBe(true);
    void proxy.stop();
    expect(second.destroyed).toBe(true);
    expect(() => proxy.send(invite())).toThrow(expect.objectContaining({ code: 'ERR_NOT_STARTED' }));
  });

  test('createProxy makes independent proxies', () => {
    const a = new FakeStack();
    const b = new FakeStack();
    const pa = proxy.createProxy({ stack: fakeStackFactory(a) }, () => undefined);
    const pb = proxy.createProxy({ stack: fakeStackFactory(b) }, () => undefined);
    a.receive(invite());
    expect(pa.contextCount).toBe(1);
    expect(pb.contextCount).toBe(0);
    void pa.stop();
    void pb.stop();
  });
});
