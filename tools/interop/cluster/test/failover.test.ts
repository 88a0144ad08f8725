// Failures in the cluster of examples/cluster, on loopback, bounded in time:
// - a node killed (SIGKILL, by its PID) while calls are up and new ones arrive: the dispatcher's
//   OPTIONS probes mark it down within a couple of seconds and new calls (their INVITE
//   retransmissions, for those that first went to the dead node) complete on the survivor; the
//   calls established on the survivor hang up normally (the BYE reaches the callee); no binding is
//   lost (it is in Redis); the node started again, with no state of its own, takes calls again;
// - Redis killed during load and started again: while it is down every node answers 5xx with
//   Retry-After (REGISTER 500, INVITE 503), through the front too; once it is back the nodes
//   reconnect by themselves and the binding is still there (Redis's append-only file).
import { caller, callee, cluster, expectPassed, metrics, missing, received, sendRequest, sipRequest } from './helpers.js';

const why = missing();
if (why !== undefined) console.warn(`tools/interop/cluster: SKIPPED: ${why}`);
const suite = why === undefined ? describe : describe.skip;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

suite('cluster failures', () => {
  jest.setTimeout(60_000);
  let c: Awaited<ReturnType<typeof cluster>> | undefined;
  afterEach(async () => {
    await c?.stop();
    c = undefined;
  });

  test('a node killed while calls run: new calls go to the survivor, calls up on the survivor end normally, no binding lost, the node comes back', async () => {
    const cl = (c = await cluster());
    const uas = await callee(cl, 'held', 1000, 50);
    try {
      // Calls that stay up 6 s, spread over both nodes by their Call-IDs.
      const held = await caller(cl, 'held', 10, 20, 6000, 'held', 30);
      await sleep(1500);
      const [onOne, onTwo] = await received(cl, 'INVITE');
      expect(onOne).toBeGreaterThan(0);
      expect(onTwo).toBeGreaterThan(0);
      await cl.killNode(1);
      // New calls right after the kill; those hashed to node 1 before the probes mark it down are
      // retransmitted by SIPp (Timer A) and land on node 2 once it is marked down.
      const after = await caller(cl, 'held', 20, 10, 100, 'after', 25);
      const heldResult = await held.done;
      // The calls on node 2 hang up normally; those on node 1 lost their BYE with the node.
      expect({ successful: heldResult.successful, failed: heldResult.failed }).toEqual({ successful: onTwo, failed: onOne });
      expectPassed('new calls after the kill', await after.done, 20);
      const survivor = await metrics(cl.metricsPort + 1);
      expect(survivor.get('sipts_registrar_bindings')).toBe(1);
      // Node 1 again, from nothing: the probes mark it up and it takes calls.
      await cl.startNode(1);
      await sleep(2500);
      const again = await caller(cl, 'held', 10, 20, 100, 'again', 20);
      expectPassed('calls after the restart', await again.done, 10);
      const [restarted] = await received(cl, 'INVITE');
      expect(restarted).toBeGreaterThan(0);
    } finally {
      uas.stop();
      await uas.done;
    }
  });

  test('Redis restarted during load: 5xx with Retry-After while it is down, then the nodes recover by themselves and the binding is still there', async () => {
    const cl = (c = await cluster());
    const uas = await callee(cl, 'steady', 1000, 50);
    try {
      const load = await caller(cl, 'steady', 100, 10, 100, 'load', 40);
      await sleep(2000);
      await cl.stopRedis();
      await sleep(500);
      for (const node of cl.nodes) {
        const register = await sendRequest(node.port, sipRequest('REGISTER', 'other', node.port), 4000);
        expect([register?.status, register?.headers['retry-after']]).toEqual([500, '5']);
        const invite = await sendRequest(node.port, sipRequest('INVITE', 'steady', node.port), 4000);
        expect([invite?.status, invite?.headers['retry-after']]).toEqual([503, '5']);
      }
      const front = await sendRequest(cl.front.port, sipRequest('INVITE', 'steady', cl.front.port), 4000);
      expect(front?.status).toBe(503);
      expect(front?.headers['retry-after']).toBeDefined();
      await cl.startRedis();
      // The nodes reconnect by themselves (backoff up to 5 s): a REGISTER through the front passes.
      let status = 0;
      for (let i = 0; i < 40 && status !== 200; i++) {
        await sleep(250);
        status = (await sendRequest(cl.front.port, sipRequest('REGISTER', 'other', cl.front.port), 1000))?.status ?? 0;
      }
      expect(status).toBe(200);
      const loaded = await load.done;
      expect(loaded.successful + loaded.failed).toBe(100);
      expect(loaded.failed).toBeGreaterThan(0);
      // The callee's binding survived the restart: calls complete without registering again.
      await sleep(2500);
      const after = await caller(cl, 'steady', 10, 20, 100, 'recovered', 20);
      expectPassed('calls after Redis came back', await after.done, 10);
    } finally {
      uas.stop();
      await uas.done;
    }
  });
});
