#!/usr/bin/env node
// Does a Redis run whose output comes back to the coordinator keep many worker slots busy?
//   npm run build && node test/bench/redis-output.mjs [--jobs 2000] [--per-worker 8]
//       [--rounds 3] [--baseline DIR]
// Each round starts its own redis-server on a free 127.0.0.1 port (no persistence) and,
// for 1 and then 3 `jobrun worker -j perWorker`, runs `jobs` trivial jobs (`echo`) with
// the default output read from a pipe, and with `--output none`; the rows are medians of
// wall time over the rounds, and of the mean number of jobs the workers hold (BullMQ's
// active list: fetched or running) and of those waiting in Redis untaken, sampled every
// 250 ms: workers that starve on the coordinator's hand-overs hold fewer jobs than their
// slots while none waits. `--baseline DIR` (a copy of another build: DIR/bin/jobrun.js
// beside DIR/dist) is measured in the same rounds, alternating, for a before/after on a
// busy machine. Every run is bounded (2 minutes); everything it starts is killed.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BIN,
  cleanup,
  makeTempDir,
  median,
  runTimed,
  sleep,
  spawnTracked,
  stopChild,
  whenMain,
} from './lib.mjs';
import { connectable, freePort } from './ports.mjs';

async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A fresh redis-server and `count` workers of `bin`, each `-j perWorker`; `stop` kills them. */
async function cluster(dir, bin, count, perWorker) {
  const port = await freePort();
  const server = spawnTracked(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { cwd: dir, stdio: 'ignore' },
  );
  await until(() => connectable(port), 5000, 'redis-server');
  const url = `redis://127.0.0.1:${port}`;
  const workers = [];
  for (let i = 0; i < count; i++) {
    const child = spawnTracked(process.execPath, [bin, 'worker', url, '-j', String(perWorker)], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    workers.push({ child, err: () => err });
  }
  await until(() => workers.every((w) => w.err().includes('serving')), 15_000, 'workers');
  return { url, stop: () => [server, ...workers.map((w) => w.child)].forEach((c) => stopChild(c)) };
}

/** The lengths of the default queue's active and wait lists. */
async function queueLengths(url) {
  const r = await runTimed('redis-cli', ['-u', url, 'EVAL', LENGTHS, '0'], {
    stdout: 'pipe',
    timeoutMs: 5000,
  });
  const [active, waiting] = r.stdout.trim().split('\n').map(Number);
  return { active, waiting };
}
const LENGTHS = `return {redis.call('LLEN', 'jobrun:default:active'), redis.call('LLEN', 'jobrun:default:wait')}`;

/** One run of the manifest on `url` (stdout read from a pipe): seconds, mean held and waiting. */
async function timedRun(dir, bin, url, extra) {
  const args = [bin, 'run', 'm.yaml', '--backend', url, '--progress', 'none', ...extra];
  let done = false;
  const run = runTimed(process.execPath, args, { cwd: dir, stdout: 'pipe' }).finally(
    () => (done = true),
  );
  const samples = [];
  for (let i = 0; i < 480 && !done; i++) {
    await sleep(250);
    if (!done) samples.push(await queueLengths(url));
  }
  const r = await run;
  if (r.code !== 0 || r.timedOut)
    throw new Error(`jobrun ${args.slice(1).join(' ')} exited ${r.code}: ${r.stderr.slice(-500)}`);
  const mean = (k) => samples.reduce((n, x) => n + x[k], 0) / Math.max(1, samples.length);
  return { s: r.ms / 1000, active: mean('active'), waiting: mean('waiting') };
}

const SHAPES = [
  { workers: 1, output: 'pipe', extra: [] },
  { workers: 1, output: 'none', extra: ['--output', 'none'] },
  { workers: 3, output: 'pipe', extra: [] },
  { workers: 3, output: 'none', extra: ['--output', 'none'] },
];

async function main(num) {
  const argv = process.argv.slice(2);
  const at = argv.indexOf('--baseline');
  const baseline = at === -1 ? undefined : resolve(argv[at + 1]);
  const jobs = num('--jobs', 2000);
  const perWorker = num('--per-worker', 8);
  const rounds = num('--rounds', 3);
  const dir = makeTempDir('redis-output');
  const lines = ['version: 1', 'jobs:'];
  for (let i = 0; i < jobs; i++) lines.push(`  - name: j${i}`, `    run: "echo ${i}"`);
  writeFileSync(join(dir, 'm.yaml'), lines.join('\n') + '\n');
  const builds = baseline
    ? { baseline: join(baseline, 'bin', 'jobrun.js'), current: BIN }
    : { current: BIN };
  /** build → shape index → `timedRun`'s figures per round */
  const times = Object.fromEntries(Object.keys(builds).map((b) => [b, SHAPES.map(() => [])]));
  for (let r = 0; r < rounds; r++) {
    for (const [s, shape] of SHAPES.entries()) {
      // alternate which build goes first, so a load change does not favour one of them
      const order = Object.keys(builds);
      if ((r + s) % 2) order.reverse();
      for (const name of order) {
        const c = await cluster(dir, builds[name], shape.workers, perWorker);
        try {
          times[name][s].push(await timedRun(dir, builds[name], c.url, shape.extra));
        } finally {
          c.stop();
        }
      }
    }
  }
  console.log(
    `${jobs} jobs (echo), workers × -j ${perWorker}, wall time; medians of ${rounds} round(s); ` +
      `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  for (const [s, shape] of SHAPES.entries()) {
    const row = Object.entries(times).map(([name, t]) => {
      const m = median(t[s].map((x) => x.s));
      const held = median(t[s].map((x) => x.active)).toFixed(1);
      const waiting = median(t[s].map((x) => x.waiting)).toFixed(1);
      const each = t[s].map((x) => x.s.toFixed(2)).join(' ');
      return `${name} ${m.toFixed(2)} s (${(jobs / m).toFixed(0)} jobs/s; ${each}), held ${held}, waiting ${waiting}`;
    });
    const slots = shape.workers * perWorker;
    console.log(
      `${`${shape.workers} × -j ${perWorker} (${slots} slots), output ${shape.output}`.padEnd(34)} ${row.join('  ')}`,
    );
  }
  cleanup();
  process.exit(0);
}

await whenMain(import.meta.url, main);
