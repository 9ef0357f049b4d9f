// The floor row of `npm run bench`: what jobrun adds per job over the operating system's
// own cost of starting and reaping one, which does not depend on how fast the machine
// creates processes. The same N × `true ITEM` go through
//   (a) a plain loop in Python: posix_spawn (own session, stdin /dev/null, stdout and
//       stderr on a per-job file, as jobrun's spawner does) + waitpid, one job at a time;
//   (b) jobrun -j 1: its default output (shown, grouped, as stdout is a pipe), with
//       --output none (logs only), and with --spawner child;
//   (c) xargs -P 1 -n 1.
// Each peer also runs 1 job, so its start-up (Node, Python) is taken out: per job is
// (T(N) − T(1)) / (N − 1). `--old BIN` adds the same jobrun rows for another build
// (e.g. a copy of an earlier dist/), alternated with the others. The last two columns
// are jobrun's CPU per job, start-up taken out the same way: its main thread's, and its
// other threads' (V8's compiler and garbage collector helpers, libuv's pool), which take
// CPU from the jobs too. Run alone with
//   node test/bench/floor.mjs [--rounds N] [--jobs N] [--old path/to/bin/jobrun.js]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  BIN,
  ROOT,
  fmtMs,
  makeTempDir,
  median,
  onPath,
  removeTempDir,
  round,
  runTimed,
  table,
  whenMain,
} from './lib.mjs';

/**
 * posix_spawn + waitpid of `SHELL -c 'true ITEM'` for each line of stdin, with the shell
 * jobrun runs every job with: the floor jobrun is held to, the same processes and nothing else.
 */
const LOOP = String.raw`
import os, sys
logs, shell = sys.argv[1], sys.argv[2].encode()
env = dict(os.environb)
for i, line in enumerate(sys.stdin.buffer.read().split()):
    log = os.path.join(logs.encode(), b'%d.log' % i)
    actions = [(os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    pid = os.posix_spawn(shell, [shell, b'-c', b'true ' + line], env, file_actions=actions, setsid=True)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit(1)
    os.unlink(log)
`;

const CPU_PRELOAD = join(ROOT, 'test', 'bench', 'thread-cpu.mjs');
const LOOP_NAME = 'posix_spawn loop';
const JOBRUN = 'jobrun -j 1';
const JOBRUN_NONE = 'jobrun -j 1 --output none';
const JOBRUN_CHILD = 'jobrun -j 1 --spawner child';
const XARGS = 'xargs -P 1';

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Runs the comparison; returns the section's results for bench.json. */
export async function floor({ rounds = 5, jobs = 1000, old, note = console.error } = {}) {
  const dir = makeTempDir('floor');
  try {
    const inputs = { [jobs]: join(dir, 'n.txt'), 1: join(dir, 'one.txt') };
    writeFileSync(inputs[jobs], Array.from({ length: jobs }, (_, i) => i + 1).join('\n') + '\n');
    writeFileSync(inputs[1], '1\n');
    // jobrun's default shell (bash when installed): the loop runs each job with it too
    const shell = (await onPath('bash')) ?? '/bin/sh';
    const peers = [
      { name: LOOP_NAME, run: (input) => plain('python3', ['-c', LOOP, dir, shell], input) },
      ...jobrunPeers(BIN, '', dir),
      ...(old ? jobrunPeers(old, 'old ', dir) : []),
      { name: XARGS, run: (input) => plain('xargs', ['-P', '1', '-n', '1', 'true'], input) },
    ];
    note(
      `${jobs} × \`true ITEM\`, one at a time; each peer also runs 1 job to take its start-up out`,
    );
    note(
      `${LOOP_NAME}: python3 -c (posix_spawn of ${shell} -c 'true ITEM' with setsid, stdout+stderr on a per-job file) + waitpid`,
    );
    note(`${JOBRUN}: node bin/jobrun.js run --stdin -j 1 --progress none --logs <tmp> -- true`);
    if (old) note(`old …: the same with ${old}`);
    note(`${XARGS}: xargs -P 1 -n 1 true (runs true itself, no shell)`);
    /** name → [{ perJobMs, totalMs, load }] */
    const samples = Object.fromEntries(peers.map((p) => [p.name, []]));
    const failures = [];
    for (let r = 0; r < rounds; r++) {
      const line = [];
      for (const peer of peers.map((_, i) => peers[(i + r) % peers.length])) {
        const one = await peer.run(inputs[1]);
        const all = await peer.run(inputs[jobs]);
        if (!one.ok || !all.ok) {
          failures.push(`${peer.name} round ${r + 1}: ${(one.ok ? all : one).why}`);
          line.push(`${peer.name} FAILED`);
          continue;
        }
        const perJobMs = (all.ms - one.ms) / (jobs - 1);
        // jobrun's main thread: its CPU per job, start-up taken out the same way
        const perJobUs = (key) =>
          all[key] === undefined ? NaN : (all[key] - one[key]) / 1e3 / (jobs - 1);
        const cpuUs = perJobUs('cpuNs');
        samples[peer.name].push({
          perJobMs,
          cpuUs,
          othersUs: perJobUs('othersNs'),
          totalMs: all.ms,
          oneMs: one.ms,
          load: loadavg()[0],
        });
        line.push(`${peer.name} ${(perJobMs * 1000).toFixed(0)} µs`);
      }
      note(`floor round ${r + 1}/${rounds}: ${line.join(', ')}  (load ${load()})`);
    }
    for (const f of failures) note(`!! ${f}`);
    return summarize(samples, jobs, rounds, failures, note);
  } finally {
    removeTempDir(dir);
  }
}

/** Per peer the best and the median per-job time; jobrun's overhead over the loop, both ways. */
function summarize(samples, jobs, rounds, failures, note) {
  const best = (name) => Math.min(...samples[name].map((s) => s.perJobMs));
  const mid = (name) => median(samples[name].map((s) => s.perJobMs));
  /** Per round: the peer's time minus the loop's of the same round, so load swings cancel. */
  const paired = (name) =>
    median(
      samples[name]
        .slice(0, samples[LOOP_NAME].length)
        .map((s, i) => s.perJobMs - samples[LOOP_NAME][i].perJobMs),
    );
  const us = (ms) => (Number.isFinite(ms) ? `${(ms * 1000).toFixed(0)} µs` : 'n/a');
  const floorBest = best(LOOP_NAME);
  const names = Object.keys(samples).filter((n) => samples[n].length > 0);
  const xargs = samples[XARGS].length > 0 ? best(XARGS) : NaN;
  table(
    [
      'peer',
      'best per job',
      'median per job',
      'over loop (best)',
      'paired over loop',
      'vs loop (best)',
      'vs xargs (best)',
      'start-up (1 job)',
      'main thread CPU per job',
      'other threads CPU per job',
    ],
    names.map((n) => [
      n,
      us(best(n)),
      us(mid(n)),
      n === LOOP_NAME ? '' : us(best(n) - floorBest),
      n === LOOP_NAME ? '' : us(paired(n)),
      n === LOOP_NAME ? '' : `${(best(n) / floorBest).toFixed(2)}×`,
      n === XARGS ? '' : `${(best(n) / xargs).toFixed(2)}× (xargs ${us(xargs)})`,
      fmtMs(Math.min(...samples[n].map((s) => s.oneMs))),
      us(median(samples[n].map((s) => s.cpuUs)) / 1000),
      us(median(samples[n].map((s) => s.othersUs)) / 1000),
    ]),
  );
  const overhead = best(JOBRUN) - floorBest;
  const met = overhead <= 0.3;
  note(
    `jobrun's overhead per job over the loop (best runs, start-up taken out): ${us(overhead)}, bar ≤ 300 µs: ${met ? 'MET' : 'MISSED'}  (load ${load()})`,
  );
  return {
    jobs,
    rounds,
    perJobUs: Object.fromEntries(
      names.map((n) => [n, samples[n].map((s) => round(s.perJobMs * 1000, 0))]),
    ),
    loadavg1: Object.fromEntries(names.map((n) => [n, samples[n].map((s) => round(s.load, 2))])),
    bestPerJobUs: Object.fromEntries(names.map((n) => [n, round(best(n) * 1000, 0)])),
    overheadUs: { best: round(overhead * 1000, 0), paired: round(paired(JOBRUN) * 1000, 0) },
    mainThreadCpuUs: Object.fromEntries(
      names.map((n) => [n, samples[n].map((s) => round(s.cpuUs, 0))]),
    ),
    otherThreadsCpuUs: Object.fromEntries(
      names.map((n) => [n, samples[n].map((s) => round(s.othersUs, 0))]),
    ),
    bar: { overheadUs: 300, met },
    failures,
  };
}

async function plain(cmd, args, input) {
  const res = await runTimed(cmd, args, { stdin: input, timeoutMs: 600_000 });
  if (res.timedOut) return { ok: false, why: 'timed out' };
  if (res.code !== 0)
    return { ok: false, why: `exit ${res.code ?? res.signal}: ${res.stderr.slice(-200)}` };
  return { ok: true, ms: res.ms };
}

/** The jobrun rows of one build: default output, `--output none`, `--spawner child`. */
function jobrunPeers(bin, label, dir) {
  return [
    { name: label + JOBRUN, run: (input) => jobrun(bin, input, dir, 'helper') },
    {
      name: label + JOBRUN_NONE,
      run: (input) => jobrun(bin, input, dir, 'helper', ['--output', 'none']),
    },
    { name: label + JOBRUN_CHILD, run: (input) => jobrun(bin, input, dir, 'child') },
  ];
}

/** The CPU (ns) of the main thread and of the others that `thread-cpu.mjs` wrote at jobrun's exit, if any. */
function readCpu(file) {
  try {
    const [cpuNs, othersNs] = readFileSync(file, 'utf8').split(' ').map(Number);
    return { cpuNs, othersNs };
  } catch {
    return {};
  } finally {
    rmSync(file, { force: true });
  }
}

async function jobrun(bin, input, dir, spawner, extra = []) {
  const logs = makeTempDir('floor-logs');
  try {
    const args = [
      'run',
      '--stdin',
      '-j',
      '1',
      '--progress',
      'none',
      '--logs',
      logs,
      ...extra,
      '--',
      'true',
    ];
    const cpuFile = join(logs, '..', `${basename(logs)}.cpu`);
    const res = await runTimed(
      process.execPath,
      ['--import', pathToFileURL(CPU_PRELOAD).href, bin, ...args],
      {
        stdin: input,
        cwd: dir,
        env: { ...process.env, JOBRUN_SPAWNER: spawner, JOBRUN_BENCH_CPU_FILE: cpuFile },
        timeoutMs: 600_000,
      },
    );
    if (res.timedOut) return { ok: false, why: 'timed out' };
    if (res.code !== 0)
      return { ok: false, why: `exit ${res.code ?? res.signal}: ${res.stderr.slice(-200)}` };
    return { ok: true, ms: res.ms, ...readCpu(cpuFile) };
  } finally {
    removeTempDir(logs);
  }
}

await whenMain(import.meta.url, async (num) => {
  const argv = process.argv.slice(2);
  const old = argv.includes('--old') ? argv[argv.indexOf('--old') + 1] : undefined;
  await floor({ rounds: num('--rounds', 5), jobs: num('--jobs', 1000), old, note: console.log });
});
