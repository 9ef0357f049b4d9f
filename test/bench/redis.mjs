#!/usr/bin/env node
// Jobs per second through Redis vs local mode, in the same run of this script, and the
// coordinator's memory on an endless stream (backpressure over the wire):
//   npm run build && node test/bench/redis.mjs [jobs=2000] [perWorker=4] [streamSeconds=20]
//       [--rounds N] [--baseline DIR]
// Each round starts its own redis-server on a free 127.0.0.1 port (no persistence) and
// two local `jobrun worker -j perWorker`, and runs the same manifest of trivial jobs
// (`true`) locally with -j 2*perWorker and then with --backend; the rows are medians
// over the rounds (default 3). `--baseline DIR` (a copy of another build: DIR/bin/jobrun.js
// beside DIR/dist) is measured in the same rounds, alternating, for a before/after on
// a busy machine. Each build's rows also say how many Redis commands a job cost (from
// INFO commandstats: steady under load). Then it pipes 200,000 lines into `jobrun run
// --stdin --backend … --max-queue 1000` for streamSeconds and samples the coordinator's RSS. Everything it starts is killed.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectable, freePort } from './ports.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'jobrun.js');
const positional = [];
let rounds = 3;
let baseline;
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--rounds') rounds = Number(process.argv[++i]);
  else if (arg === '--baseline') baseline = resolve(process.argv[++i]);
  else positional.push(arg);
}
const jobs = Number(positional[0] ?? 2000);
const perWorker = Number(positional[1] ?? 4);
const streamSeconds = Number(positional[2] ?? 20);
const children = [];
const dir = mkdtempSync(join(tmpdir(), 'jobrun-bench-redis-'));

function cleanup() {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  children.push(child);
  let err = '';
  child.stderr?.setEncoding('utf8').on('data', (d) => (err += d));
  return { child, err: () => err };
}

async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function timed(bin, args) {
  const t0 = performance.now();
  const { child, err } = start(process.execPath, [bin, ...args]);
  const code = await new Promise((res) => child.once('exit', res));
  if (code !== 0) throw new Error(`jobrun ${args.join(' ')} exited ${code}: ${err()}`);
  return (performance.now() - t0) / 1000;
}

const lines = ['version: 1', 'jobs:'];
for (let i = 0; i < jobs; i++) lines.push(`  - name: j${i}`, '    run: "true"');
writeFileSync(join(dir, 'm.yaml'), lines.join('\n') + '\n');

async function startRedis() {
  const port = await freePort();
  const server = start('redis-server', [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
  ]);
  await until(() => connectable(port), 5000, 'redis-server');
  return { url: `redis://127.0.0.1:${port}`, server };
}

/** One round for one build: a fresh Redis and two workers, the local run, the remote run. */
async function measure(bin) {
  const { url, server } = await startRedis();
  const workers = [0, 1].map(() =>
    start(process.execPath, [bin, 'worker', url, '-j', String(perWorker)]),
  );
  await until(() => workers.every((w) => w.err().includes('serving')), 15_000, 'workers');
  const local = await timed(bin, [
    'run',
    'm.yaml',
    '-j',
    String(2 * perWorker),
    '--progress',
    'none',
  ]);
  const redis = await timed(bin, ['run', 'm.yaml', '--backend', url, '--progress', 'none']);
  const commands = await redisCommands(url);
  for (const { child } of [...workers, server]) child.kill('SIGKILL');
  return { local, redis, commands };
}

/** Every command the server ran so far, those inside scripts included (INFO commandstats). */
async function redisCommands(url) {
  const cli = start('redis-cli', ['-u', url, 'INFO', 'commandstats'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  cli.child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  await new Promise((res) => cli.child.once('exit', res));
  return [...out.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const builds = baseline
  ? { baseline: join(baseline, 'bin', 'jobrun.js'), current: BIN }
  : { current: BIN };
const times = Object.fromEntries(Object.keys(builds).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  // alternate which build goes first, so a load change does not favour one of them
  const order = Object.keys(builds);
  if (r % 2) order.reverse();
  for (const name of order) times[name].push(await measure(builds[name]));
}

console.log(
  `${jobs} trivial jobs (true), ${2 * perWorker} at once, wall time including jobrun's start-up; ` +
    `medians of ${rounds} round(s); load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
);
const rate = (s) => `${(jobs / s).toFixed(0).padStart(6)} jobs/s`;
for (const [name, rows] of Object.entries(times)) {
  const local = median(rows.map((t) => t.local));
  const redis = median(rows.map((t) => t.redis));
  // the ratio of each round, then their median: steadier than a ratio of medians under load
  const ratio = median(rows.map((t) => t.local / t.redis));
  const label = baseline ? `${name}: ` : '';
  console.log(
    `${`${label}throughput: redis / local`.padEnd(36)} ${(100 * ratio).toFixed(0).padStart(4)} %  ` +
      `redis ${rate(redis)} (${redis.toFixed(2)} s, 2 workers × -j ${perWorker}), ` +
      `local ${rate(local)} (${local.toFixed(2)} s, -j ${2 * perWorker})  (target ≥ 60 %)` +
      `${ratio < 0.6 ? '  !! below target' : ''}`,
  );
  console.log(
    `${'  per round: redis / local'.padEnd(36)} ` +
      rows.map((t) => `${t.redis.toFixed(2)}/${t.local.toFixed(2)} s`).join('  '),
  );
  // independent of the load: what each job costs Redis (workers idling count a little)
  const perJob = median(rows.map((t) => t.commands / jobs));
  console.log(`${'  Redis commands per job'.padEnd(36)} ${perJob.toFixed(1)} (inside scripts too)`);
}

// memory: a producer that never ends, held back by --max-queue over the wire
const { url } = await startRedis();
for (let i = 0; i < 2; i++) start(process.execPath, [BIN, 'worker', url, '-j', String(perWorker)]);
const rssMB = (pid) => {
  try {
    const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return kb / 1024;
  } catch {
    return undefined;
  }
};
const streamLines = 200_000;
const coordinator = spawn(
  process.execPath,
  [
    BIN,
    'run',
    '--stdin',
    '--backend',
    url,
    '--max-queue',
    '1000',
    '--progress',
    'none',
    '--',
    'true {}',
  ],
  { cwd: dir, stdio: ['pipe', 'ignore', 'ignore'] },
);
children.push(coordinator);
coordinator.stdin.on('error', () => {});
let written = 0;
let feeding = true;
(async () => {
  while (feeding && written < streamLines) {
    const ok = coordinator.stdin.write(`${written++}\n`);
    if (!ok) await new Promise((r) => coordinator.stdin.once('drain', r).once('close', r));
  }
})();
const samples = [];
for (let i = 0; i < streamSeconds * 2 && coordinator.exitCode === null; i++) {
  await new Promise((r) => setTimeout(r, 500));
  const mb = rssMB(coordinator.pid);
  if (mb !== undefined) samples.push(mb);
}
feeding = false;
const settled = samples.slice(4);
console.log(
  `${`memory: coordinator RSS, ${streamSeconds} s of a ${streamLines}-line stream`.padEnd(34)} ` +
    `after start-up ${settled[0]?.toFixed(0)} MB, peak ${Math.max(...settled).toFixed(0)} MB, ` +
    `end ${settled.at(-1)?.toFixed(0)} MB; ${written} lines taken (--max-queue 1000)`,
);
console.log(
  `${'  RSS every 5 s (MB)'.padEnd(34)} ${samples
    .filter((_, i) => i % 10 === 9)
    .map((mb) => mb.toFixed(0))
    .join(' ')}`,
);

// redis-server and the workers would keep this process alive: stop them, then leave
cleanup();
process.exit(0);
