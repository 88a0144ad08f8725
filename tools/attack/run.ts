// The standing attack suite (`pnpm test:attack`, and a step of .ci/run): starts the registrar +
// proxy of `pnpm start` with digest authentication (tools/attack/server.ts) and `pnpm start`
// itself, runs every attack of the hostile-network issue against them plus the RFC 4475 corpus
// and a fuzz burst, over UDP, TCP, WS, TLS and WSS and on ::1, and after each checks that the
// process is alive, legitimate OPTIONS over UDP and TCP are answered within 1 s, file
// descriptors and heap are back to the baseline and nothing was written to stderr. Prints a
// table (attack, check, before, after, result) and exits 1 when a check failed.
//
//   pnpm test:attack
//   pnpm test:attack --json .ci-out/attack.json      # also write the rows and counts as JSON
//   ATTACK_ONLY=fuzz,slowloris pnpm test:attack      # a subset (ids in the table's notes)
//   ATTACK_NETNS=off pnpm test:attack                # no network namespace even where possible
//
// Traffic stays on loopback. Where `unshare -n` works (root on Linux, iproute2 present) the
// suite re-executes itself in a network namespace of its own with only `lo` up, so whatever a
// forged or fuzzed message names, nothing leaves it; otherwise every forged address is a
// loopback one and the torture messages' hosts are rewritten to loopback (lib/corpus.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ATTACKS } from './attacks/index.js';
import { Context, type Row } from './lib/context.js';
import { captureBaseline, health } from './lib/health.js';
import { finalChecks } from './lib/final.js';
import { printTable } from './lib/table.js';
import { startServer, type Target } from './lib/target.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const argv = process.argv.slice(2);
const jsonOut = argv.includes('--json') ? argv[argv.indexOf('--json') + 1] : undefined;
/** `--before <checkout>`: attack an old build (tools/attack/server-before.ts) for before/after numbers. */
const before = argv.includes('--before') ? resolve(argv[argv.indexOf('--before') + 1] ?? '') : undefined;
/** The whole run stays within ~5 minutes on 2 cores; attacks past this are reported as not run. */
const BUDGET_MS = 270_000;
const ATTACK_TIMEOUT_MS = 90_000;

/** Re-run this program inside `unshare -n` with lo up; returns its exit status, or undefined when not possible. */
function inNamespace(): number | undefined {
  if (process.env['ATTACK_IN_NETNS'] === '1' || process.env['ATTACK_NETNS'] === 'off' || process.platform !== 'linux') return undefined;
  const probe = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && ip -o addr show dev lo'], { encoding: 'utf8' });
  if (probe.status !== 0 || !probe.stdout.includes('127.0.0.1') || !probe.stdout.includes('::1')) {
    console.log(`attack suite: no network namespace here (${(probe.stderr || probe.error?.message || 'unshare -n failed').trim().split('\n')[0]}); forged addresses stay loopback ones`);
    return undefined;
  }
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  const child = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', tsx, '--tsconfig', join(root, 'tsconfig.tests.json'), fileURLToPath(import.meta.url), ...argv], {
    stdio: 'inherit',
    env: { ...process.env, ATTACK_IN_NETNS: '1' },
  });
  return child.status ?? 1;
}

function fdLimit(): number {
  try {
    const m = /Max open files\s+(\d+|unlimited)/.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m?.[1] === 'unlimited' ? 1 << 20 : Number(m?.[1] ?? 1024);
  } catch {
    return 1024;
  }
}

/** A self-signed certificate for 127.0.0.1 and ::1, made with openssl in `dir`. */
function makeCertificate(dir: string): { keyFile: string; certFile: string } | undefined {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=sipts-attack', '-addext', 'subjectAltName=IP:127.0.0.1,IP:::1'],
    { encoding: 'utf8' },
  );
  return r.status === 0 ? { keyFile, certFile } : undefined;
}

function accounts(): Record<string, string> {
  const users: Record<string, string> = { alice: 'secret', mallory: 'mallory-pw', dave: 'dave-pw', carol: 'carol-pw' };
  for (let i = 0; i < 200; i++) users[`padded-user-${i}`] = `pw${i}`;
  return users;
}

async function main(): Promise<number> {
  const status = inNamespace();
  if (status !== undefined) return status;
  const netns = process.env['ATTACK_IN_NETNS'] === '1';
  const started = Date.now();
  const only = (process.env['ATTACK_ONLY'] ?? '').split(',').filter((s) => s !== '');
  const tmp = mkdtempSync(join(tmpdir(), 'sipts-attack-'));
  const rows: Row[] = [];
  let server: Target | undefined;
  let ctx: Context | undefined;
  try {
    const cert = makeCertificate(tmp);
    if (cert === undefined) throw new Error('openssl could not make a certificate (is openssl installed?)');
    const users = accounts();
    server = await startServer(root, { users, ...cert }, before);
    if (before !== undefined) console.log(`attack suite: BEFORE mode, against the build in ${before}`);
    ctx = new Context({ root, tmp, netns, server, users, fdLimit: fdLimit() });
    console.log(`attack suite: server pid ${server.pid}${netns ? ', in its own network namespace' : ''}; ${Object.entries(server.stacks).map(([n, a]) => `${n}: ${a.map((x) => `${x.protocol} ${x.address}:${x.port}`).join(' ')}`).join('; ')}`);
    await captureBaseline(ctx);
    for (const attack of ATTACKS) {
      if (only.length > 0 && !only.includes(attack.id)) continue;
      // pnpm start of an old checkout has no digest: nothing to compare.
      if (before !== undefined && attack.id === 'pnpm-start') continue;
      if (Date.now() - started > BUDGET_MS) {
        ctx.check(attack.title, 'ran', '', `not run: the suite's ${BUDGET_MS / 1000} s budget was used up`, false, 'an earlier attack took far longer than it should (a server that stopped answering makes every wait run to its timeout)');
        continue;
      }
      const t = Date.now();
      const rowsBefore = ctx.rows.length;
      process.stdout.write(`- ${attack.id}: ${attack.title} ... `);
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          attack.run(ctx),
          new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ATTACK_TIMEOUT_MS / 1000} s`)), ATTACK_TIMEOUT_MS))),
        ]);
      } catch (e) {
        ctx.check(attack.title, 'ran to the end', '', `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`.slice(0, 600), false, 'the attack code or the server failed in an unexpected way');
      } finally {
        clearTimeout(timer);
      }
      const verdict = await health(ctx, attack.title, attack.heapSlack !== undefined ? { heapSlack: attack.heapSlack } : {});
      const failed = ctx.rows.slice(rowsBefore).filter((r) => r.result === 'FAIL');
      console.log(`${((Date.now() - t) / 1000).toFixed(1)} s${failed.length > 0 ? `, ${failed.length} FAILED` : ''}`);
      for (const r of failed) console.log(`    FAIL ${r.check}: ${r.after.slice(0, 400)}`);
      if (!verdict.usable) {
        // A dead, hung or unanswering server would fail every attack after this one for the
        // same reason: start a fresh one (new baseline) so they still test something.
        console.log('    the server is not usable any more: starting a fresh one');
        await ctx.server.stop();
        server = ctx.server = await startServer(root, { users, ...cert }, before);
        await captureBaseline(ctx);
        ctx.info(attack.title, 'server restarted after this attack', '', `new pid ${ctx.server.pid}; later rows are against the fresh process`);
      }
    }
    if (only.length === 0 || only.includes('final')) await finalChecks(ctx);
  } catch (e) {
    rows.push({ attack: 'suite', check: 'setup', before: '', after: e instanceof Error ? e.message : String(e), result: 'FAIL', defect: 'the suite could not run' });
  } finally {
    if (ctx !== undefined) {
      rows.unshift(...ctx.rows);
      ctx.close();
      await ctx.start?.stop();
    }
    await (ctx?.server ?? server)?.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  printTable(rows);
  const passed = rows.filter((r) => r.result === 'pass').length;
  const failed = rows.filter((r) => r.result === 'FAIL').length;
  const skipped = rows.filter((r) => r.result === 'skip').length;
  if (jsonOut !== undefined) writeFileSync(jsonOut, JSON.stringify({ passed, failed, skipped, seconds, netns, rows }, null, 2));
  console.log(`attack suite: ${passed} checks passed, ${failed} failed, ${rows.filter((r) => r.result === 'info').length} measurements, ${skipped} skipped, in ${seconds.toFixed(0)} s`);
  return failed > 0 || passed === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
