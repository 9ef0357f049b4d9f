#!/usr/bin/env node
// jobrun's benchmark harness (`npm run bench`; not part of `npm test`).
//
//   node test/bench/run.mjs [section…] [options]
//
// Sections (default: all; `redis` delegates to test/bench/redis.mjs when that file
// exists and redis-server is on PATH):
//   trivial   N trivial jobs (`true`) at -j 2: jobrun (stdin and manifest, each with the spawner
//             and with child_process) vs xargs -P vs GNU parallel; issue 10's bars
//   marginal  per-job marginal cost: N vs 3N jobs, jobrun (both spawners) vs xargs
//   gzip      gzip -k of small files copied from /usr/include: jobrun (both) vs xargs, checksums compared
//   spawn     node:child_process.spawn vs execa 9, N × `/bin/sh -c true` at concurrency 2
//   validate  `jobrun validate` of a generated 100,000-job manifest: seconds and peak RSS
//   live      the trivial run with --progress tty vs --progress none, both inside a pty (`script`)
//   stream    RSS of `jobrun run --stdin --max-queue 1000` while 1,000,000 lines stream in
//   redis     test/bench/redis.mjs (owned separately), its output passed through, killed after 5 min
//   batching  20,000 small files gzipped: jobrun -X vs xargs -P2 -n 100 (test/bench/batching.mjs)
//   timeout   the scheduler's per-job cost with timeout: 50% vs a fixed timeout, 20,000 instant
//             jobs in-process (test/bench/timeout.mjs)
//   floor     jobrun's overhead per job over a plain posix_spawn + waitpid loop, at -j 1, beside
//             xargs -P 1 (test/bench/floor.mjs; --jobs N sets its count, default 1000)
//   startup   jobrun's start-up: --version, a run of one job, a manifest's --dry-run, over bare
//             node (test/bench/startup.mjs; --old BIN adds another build's rows)
//   cache     3,000 gzip jobs with cache: true: first run, unchanged rerun, 10 changed rerun,
//             next to GNU parallel rerunning everything (test/bench/cache.mjs)
//
// Options:
//   --rounds N          alternated rounds per comparison (default 5)
//   --jobs N            jobs per trivial/live/spawn run (default 2000)
//   --workers N         parallelism of every peer (default 2)
//   --gzip-files N      files in the gzip section's tree (default 3000)
//   --validate-jobs N   jobs in the generated manifest (default 100000)
//   --validate-rounds N (default 3)
//   --max-lines N       lines for the stream section (default 1000000)
//   --stream-timeout S  seconds before the stream section stops feeding (default 900)
//   --capture MODE      stream section: each job echoes its line and jobrun captures it
//                       (--capture MODE); the row then also counts job_end events with a result
//   --old BIN           floor and startup sections: also the jobrun rows of another build (bin/jobrun.js)
//   --json FILE         where to write results (default test-results/bench.json; merged per section)
//
// Peers are measured alternately in one run (A B C, B C A, …) because the machine may
// be busy; the tables report medians and ratios of medians, plus the median of the
// per-round ratios, which is the steadier number when the load changes during the run.
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { once } from 'node:events';
import {
  BIN,
  ROOT,
  fmtMB,
  fmtMs,
  fmtRatio,
  makeTempDir,
  median,
  onPath,
  procMemory,
  removeTempDir,
  round,
  runTimed,
  sleep,
  spawnTracked,
  stopChild,
  table,
} from './lib.mjs';

const SECTIONS = [
  'trivial',
  'marginal',
  'gzip',
  'spawn',
  'validate',
  'live',
  'stream',
  'redis',
  'batching',
  'timeout',
  'floor',
  'startup',
  'cache',
];
const NODE = process.execPath;

// ---------------------------------------------------------------- options

function parseArgs(argv) {
  const opts = {
    sections: [],
    rounds: 5,
    jobs: 2000,
    workers: 2,
    validateJobs: 100_000,
    validateRounds: 3,
    maxLines: 1_000_000,
    streamTimeoutS: 900,
    gzipFiles: 3000,
    capture: undefined,
    json: join(ROOT, 'test-results', 'bench.json'),
  };
  const numeric = {
    '--rounds': 'rounds',
    '--jobs': 'jobs',
    '--workers': 'workers',
    '--validate-jobs': 'validateJobs',
    '--validate-rounds': 'validateRounds',
    '--max-lines': 'maxLines',
    '--stream-timeout': 'streamTimeoutS',
    '--gzip-files': 'gzipFiles',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--capture') {
      opts.capture = argv[++i];
      continue;
    }
    if (a === '--old') {
      opts.old = resolve(argv[++i] ?? usage('--old needs a bin/jobrun.js'));
      continue;
    }
    if (a === '-h' || a === '--help') {
      console.log(
        readFileSync(new URL(import.meta.url), 'utf8')
          .split('\n')
          .slice(1, 38)
          .join('\n')
          .replace(/^\/\/ ?/gm, ''),
      );
      process.exit(0);
    } else if (a in numeric) {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v <= 0) usage(`${a} needs a positive integer`);
      opts[numeric[a]] = v;
      if (a === '--jobs') opts.jobsGiven = true;
    } else if (a === '--json') {
      opts.json = resolve(argv[++i] ?? usage('--json needs a file'));
    } else if (SECTIONS.includes(a)) {
      opts.sections.push(a);
    } else {
      usage(`unknown argument "${a}"`);
    }
  }
  if (opts.sections.length === 0) opts.sections = [...SECTIONS];
  return opts;
}

function usage(msg) {
  console.error(
    `bench: ${msg}\nusage: node test/bench/run.mjs [${SECTIONS.join('|')}…] [--rounds N] [--jobs N] [--max-lines N] [--stream-timeout S]`,
  );
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));

// ---------------------------------------------------------------- helpers

const heading = (title) =>
  console.log(`\n== ${title} ${'='.repeat(Math.max(0, 74 - title.length))}`);
const note = (s) => console.log(`  ${s}`);
const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Lines 1..n, one per line, into a file. */
function writeLines(path, n) {
  const parts = [];
  for (let i = 1; i <= n; i++) parts.push(String(i));
  writeFileSync(path, parts.join('\n') + '\n');
}

/** Rotate the order each round so no peer always goes first (A B C, B C A, C A B, …). */
const rotated = (peers, r) => peers.map((_, i) => peers[(i + r) % peers.length]);

/** Run peers alternately for `rounds` rounds; returns { name: [ms…] } and the failures. */
async function alternate(peers, rounds, label) {
  const times = Object.fromEntries(peers.map((p) => [p.name, []]));
  const failures = [];
  for (let r = 0; r < rounds; r++) {
    const line = [];
    for (const peer of rotated(peers, r)) {
      const res = await peer.run();
      if (res.ok) times[peer.name].push(res.ms);
      else failures.push(`${peer.name} round ${r + 1}: ${res.why}`);
      line.push(`${peer.name} ${res.ok ? fmtMs(res.ms) : 'FAILED'}`);
    }
    note(`${label} round ${r + 1}/${rounds}: ${line.join(', ')}  (load ${load()})`);
  }
  for (const f of failures) note(`!! ${f}`);
  return { times, failures };
}

/** Median over rounds of a/b, pairing the i-th run of each. */
function pairedRatio(a, b) {
  const n = Math.min(a.length, b.length);
  return median(Array.from({ length: n }, (_, i) => a[i] / b[i]));
}

const ESC = String.fromCharCode(27);
const shq = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;

/** Checks common to every jobrun run: exit code, timeout, and the summary's count. */
function checkJobrun(res, expected, { summary = true } = {}) {
  if (res.timedOut) return { ok: false, why: 'timed out', ms: res.ms };
  if (res.code !== 0)
    return {
      ok: false,
      why: `exit ${res.code ?? res.signal}: ${res.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      ms: res.ms,
    };
  if (summary && !new RegExp(`\\b${expected} succeeded`).test(res.stderr)) {
    return {
      ok: false,
      why: `summary does not say ${expected} succeeded: ${res.stderr.trim().slice(-200)}`,
      ms: res.ms,
    };
  }
  return { ok: true, ms: res.ms };
}

function checkPlain(res) {
  if (res.timedOut) return { ok: false, why: 'timed out', ms: res.ms };
  if (res.code !== 0)
    return {
      ok: false,
      why: `exit ${res.code ?? res.signal}: ${res.stderr.trim().slice(-200)}`,
      ms: res.ms,
    };
  return { ok: true, ms: res.ms };
}

// ---------------------------------------------------------------- machine

async function machine() {
  const parallel = await runTimed('parallel', ['--will-cite', '--version'], {
    stdout: 'pipe',
    timeoutMs: 10_000,
  });
  const xargs = await runTimed('xargs', ['--version'], { stdout: 'pipe', timeoutMs: 10_000 });
  const m = {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memTotalMB: Math.round(totalmem() / 2 ** 20),
    memFreeMB: Math.round(freemem() / 2 ** 20),
    node: process.version,
    parallel: parallel.code === 0 ? parallel.stdout.split('\n')[0] : 'not found',
    xargs: xargs.code === 0 ? xargs.stdout.split('\n')[0] : 'not found',
    loadavgAtStart: loadavg().map((x) => round(x, 2)),
  };
  heading('machine');
  table(
    ['', 'value'],
    [
      ['nproc', m.nproc],
      ['cpu', m.cpu],
      ['memory', `${m.memTotalMB} MB (${m.memFreeMB} MB free)`],
      ['node', m.node],
      ['parallel', m.parallel],
      ['xargs', m.xargs],
      ['load average', load()],
    ],
  );
  return m;
}

// ---------------------------------------------------------------- trivial

async function trivial() {
  const { jobs: N, workers: J, rounds } = opts;
  heading(`trivial: ${N} × \`true\` at -j ${J}, ${rounds} alternated rounds`);
  const dir = makeTempDir('trivial');
  const input = join(dir, 'lines.txt');
  writeLines(input, N);
  const manifest = join(dir, 'trivial.yaml');
  const jobsYaml = Array.from(
    { length: N },
    (_, i) => `  - name: j${i + 1}\n    run: "true ${i + 1}"`,
  ).join('\n');
  writeFileSync(manifest, `version: 1\nworkers: ${J}\njobs:\n${jobsYaml}\n`);

  const manifestArgs = (logs) => [
    'run',
    manifest,
    '--progress',
    'none',
    '--logs',
    logs,
    '-j',
    String(J),
  ];
  const peers = [];
  for (const spawner of SPAWNERS) {
    peers.push(jobrunPeer(`stdin ${spawner}`, spawner, input, N, stdinArgs('true')));
    peers.push(jobrunPeer(`manifest ${spawner}`, spawner, input, N, manifestArgs));
  }
  peers.push(xargsPeer(input, 'true'), {
    name: 'GNU parallel',
    run: async () =>
      checkPlain(
        await runTimed('parallel', ['--will-cite', '-j', String(J), 'true'], {
          stdin: input,
          timeoutMs: PEER_TIMEOUT_MS,
        }),
      ),
  });
  const cmds = {
    'stdin <spawner>': `JOBRUN_SPAWNER=<spawner> node bin/jobrun.js run --stdin --progress none --logs <tmp> -j ${J} -- true < lines.txt`,
    'manifest <spawner>': `JOBRUN_SPAWNER=<spawner> node bin/jobrun.js run trivial.yaml --progress none --logs <tmp> -j ${J}   (${N} jobs \`run: "true i"\`)`,
    'xargs -P': `xargs -P ${J} -n 1 true < lines.txt`,
    'GNU parallel': `parallel --will-cite -j ${J} true < lines.txt`,
  };
  for (const [k, v] of Object.entries(cmds)) note(`${k.padEnd(18)} ${v}`);
  const { times, failures } = await alternate(peers, rounds, 'trivial');
  removeTempDir(dir);

  const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  const P = 'GNU parallel';
  const X = 'xargs -P';
  table(
    ['peer', 'median', 'min', 'max', 'ms/job', 'vs parallel', 'vs xargs', 'paired vs xargs'],
    Object.entries(times).map(([k, v]) => [
      k,
      fmtMs(med[k]),
      fmtMs(Math.min(...v)),
      fmtMs(Math.max(...v)),
      (med[k] / N).toFixed(3),
      fmtRatio(med[k] / med[P]),
      fmtRatio(med[k] / med[X]),
      fmtRatio(pairedRatio(v, times[X])),
    ]),
  );
  const ratios = {};
  const bars = [];
  for (const spawner of SPAWNERS) {
    const stdin = times[`stdin ${spawner}`];
    const man = times[`manifest ${spawner}`];
    Object.assign(ratios, {
      [`stdinVsXargs_${spawner}`]: pairedRatio(stdin, times[X]),
      [`stdinVsParallel_${spawner}`]: pairedRatio(stdin, times[P]),
      [`manifestVsStdin_${spawner}`]: pairedRatio(man, stdin),
      [`manifestVsXargs_${spawner}`]: pairedRatio(man, times[X]),
    });
  }
  // the bars of issue 10 apply to the default executor, the spawner
  bars.push(
    barLine('stdin helper / xargs', ratios.stdinVsXargs_helper, 1.6),
    barLine('stdin helper / GNU parallel', ratios.stdinVsParallel_helper, 0.35),
    barLine('manifest helper / stdin helper', ratios.manifestVsStdin_helper, 1.1),
  );
  note('medians of paired per-round ratios:');
  for (const spawner of SPAWNERS)
    note(
      `  ${spawner.padEnd(6)} stdin/xargs ${fmtRatio(ratios[`stdinVsXargs_${spawner}`])}, stdin/parallel ${fmtRatio(ratios[`stdinVsParallel_${spawner}`])}, manifest/stdin ${fmtRatio(ratios[`manifestVsStdin_${spawner}`])}`,
    );
  for (const b of bars) note(b.text);
  return {
    jobs: N,
    workers: J,
    rounds,
    commands: cmds,
    msByPeer: Object.fromEntries(
      Object.entries(times).map(([k, v]) => [k, v.map((x) => round(x, 1))]),
    ),
    medianMs: Object.fromEntries(Object.entries(med).map(([k, v]) => [k, round(v, 1)])),
    ratios: Object.fromEntries(Object.entries(ratios).map(([k, v]) => [k, round(v, 3)])),
    bars: bars.map(({ text: _text, ...b }) => b),
    failures,
  };
}

/** Generous: on a shared 2-core machine at load 20 a 2,000-job peer may take minutes. */
const PEER_TIMEOUT_MS = 900_000;

/** Arguments of `jobrun run --stdin … -- command…`, given the log folder. */
const stdinArgs =
  (...command) =>
  (logs) => [
    'run',
    '--stdin',
    '--progress',
    'none',
    '--logs',
    logs,
    '-j',
    String(opts.workers),
    '--',
    ...command,
  ];

/** Both ways jobrun starts jobs (`JOBRUN_SPAWNER`). */
const SPAWNERS = ['helper', 'child'];

/** A jobrun run of `n` jobs with `JOBRUN_SPAWNER=spawner`, checked for `n` successes. */
function jobrunPeer(name, spawner, input, n, argsFor, cwd = ROOT) {
  return {
    name,
    async run() {
      const logs = makeTempDir('logs');
      try {
        const res = await runTimed(NODE, [BIN, ...argsFor(logs)], {
          stdin: input,
          cwd,
          env: { ...process.env, JOBRUN_SPAWNER: spawner },
          timeoutMs: PEER_TIMEOUT_MS,
        });
        return checkJobrun(res, n);
      } finally {
        removeTempDir(logs);
      }
    },
  };
}

function xargsPeer(input, ...command) {
  return {
    name: 'xargs -P',
    run: async () =>
      checkPlain(
        await runTimed('xargs', ['-P', String(opts.workers), '-n', '1', ...command], {
          stdin: input,
          timeoutMs: PEER_TIMEOUT_MS,
        }),
      ),
  };
}

/** `{ label, ratio, bar, met, text }` for a "ratio ≤ bar" line. */
function barLine(label, ratio, bar) {
  const met = ratio <= bar;
  return {
    label,
    ratio: round(ratio, 3),
    bar,
    met,
    text: `${label}: ${fmtRatio(ratio)} (median of per-round ratios)  bar ≤ ${bar}: ${met ? 'MET' : 'MISSED'}  (load ${load()})`,
  };
}

// ---------------------------------------------------------------- marginal

/** Per-job marginal cost: the time of 3N jobs minus the time of N, per extra job. */
async function marginal() {
  const { jobs: N, workers: J, rounds } = opts;
  const M = 3 * N;
  heading(`marginal: ${N} vs ${M} × \`true\` at -j ${J}, ${rounds} alternated rounds`);
  const dir = makeTempDir('marginal');
  const inputs = { [N]: join(dir, 'n.txt'), [M]: join(dir, 'm.txt') };
  writeLines(inputs[N], N);
  writeLines(inputs[M], M);
  const args = stdinArgs('true');
  const peers = [];
  for (const count of [N, M]) {
    for (const spawner of SPAWNERS)
      peers.push(jobrunPeer(`jobrun ${spawner} ${count}`, spawner, inputs[count], count, args));
    peers.push({ ...xargsPeer(inputs[count], 'true'), name: `xargs ${count}` });
  }
  const { times, failures } = await alternate(peers, rounds, 'marginal');
  removeTempDir(dir);
  const perJob = (name) => {
    const small = times[`${name} ${N}`];
    const big = times[`${name} ${M}`];
    const n = Math.min(small.length, big.length);
    return median(Array.from({ length: n }, (_, i) => (big[i] - small[i]) / (M - N)));
  };
  const xargs = perJob('xargs');
  const rows = ['jobrun helper', 'jobrun child', 'xargs'].map((name) => [
    name,
    perJob(name).toFixed(3),
    fmtRatio(perJob(name) / xargs),
  ]);
  table(['peer', `ms per extra job (${N}→${M})`, 'vs xargs'], rows);
  note(`(load ${load()})`);
  return {
    jobs: [N, M],
    workers: J,
    rounds,
    msByPeer: Object.fromEntries(
      Object.entries(times).map(([k, v]) => [k, v.map((x) => round(x, 1))]),
    ),
    marginalMsPerJob: Object.fromEntries(rows.map(([name, ms]) => [name, Number(ms)])),
    failures,
  };
}

// ---------------------------------------------------------------- gzip

/** Real small-file work: `gzip -k` of every file of a tree copied from /usr/include. */
async function gzip() {
  const { workers: J, rounds, gzipFiles } = opts;
  heading(
    `gzip: gzip -k of ${gzipFiles} small files (from /usr/include) at -j ${J}, ${rounds} rounds`,
  );
  const dir = makeTempDir('gzip');
  const tree = join(dir, 'tree');
  const list = join(dir, 'files.txt');
  const files = copySmallFiles('/usr/include', tree, gzipFiles, 64 * 1024);
  if (files.length < 100) {
    note(`skipped: only ${files.length} small files under /usr/include`);
    return { skipped: 'too few files' };
  }
  writeFileSync(list, files.join('\n') + '\n');
  const removeGz = () => {
    for (const f of files) rmSync(join(tree, `${f}.gz`), { force: true });
  };
  let reference;
  const checked = (name, res) => {
    const sums = checksums(tree, files);
    removeGz();
    if (!res.ok) return res;
    if (reference === undefined) reference = sums;
    else if (sums !== reference)
      return { ok: false, why: `${name}: .gz checksums differ from the first run` };
    return res;
  };
  const args = stdinArgs('gzip', '-k', '{}');
  const peers = [
    {
      name: 'xargs -P',
      run: async () =>
        checked(
          'xargs',
          checkPlain(
            await runTimed('xargs', ['-P', String(J), '-n', '1', 'gzip', '-k'], {
              stdin: list,
              cwd: tree,
              timeoutMs: PEER_TIMEOUT_MS,
            }),
          ),
        ),
    },
    ...SPAWNERS.map((spawner) => {
      const peer = jobrunPeer(`jobrun ${spawner}`, spawner, list, files.length, args, tree);
      return { name: peer.name, run: async () => checked(peer.name, await peer.run()) };
    }),
  ];
  note(
    `files: ${files.length}, ${fmtMB(files.reduce((n, f) => n + statSync(join(tree, f)).size, 0) / 1024)}; .gz checksums of every run compared with the first`,
  );
  const { times, failures } = await alternate(peers, rounds, 'gzip');
  removeTempDir(dir);
  const X = 'xargs -P';
  table(
    ['peer', 'median', 'paired vs xargs'],
    Object.entries(times).map(([k, v]) => [
      k,
      fmtMs(median(v)),
      fmtRatio(pairedRatio(v, times[X])),
    ]),
  );
  const bar = barLine('gzip helper / xargs', pairedRatio(times['jobrun helper'], times[X]), 1.5);
  note(bar.text);
  note(`gzip child / xargs: ${fmtRatio(pairedRatio(times['jobrun child'], times[X]))}`);
  return {
    files: files.length,
    workers: J,
    rounds,
    msByPeer: Object.fromEntries(
      Object.entries(times).map(([k, v]) => [k, v.map((x) => round(x, 1))]),
    ),
    ratios: {
      helperVsXargs: round(pairedRatio(times['jobrun helper'], times[X]), 3),
      childVsXargs: round(pairedRatio(times['jobrun child'], times[X]), 3),
    },
    bar: { ratio: bar.ratio, bar: 1.5, met: bar.met },
    failures,
  };
}

/** Copies up to `max` regular files of at most `maxBytes` from `from` into `to`; returns relative paths. */
function copySmallFiles(from, to, max, maxBytes) {
  const out = [];
  const walk = (rel) => {
    for (const entry of readdirSync(join(from, rel), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      if (out.length >= max) return;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (!/^[A-Za-z0-9._/+-]+$/.test(path)) continue;
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && statSync(join(from, path)).size <= maxBytes) {
        mkdirSync(dirname(join(to, path)), { recursive: true });
        copyFileSync(join(from, path), join(to, path));
        out.push(path);
      }
    }
  };
  walk('');
  return out;
}

/** One sha256 over every `.gz` (name and content), in list order. */
function checksums(tree, files) {
  const hash = createHash('sha256');
  for (const f of files) {
    hash.update(f);
    try {
      hash.update(readFileSync(join(tree, `${f}.gz`)));
    } catch {
      hash.update('missing');
    }
  }
  return hash.digest('hex');
}

// ---------------------------------------------------------------- spawn

async function spawnBench() {
  const { jobs: N, workers: J, rounds } = opts;
  heading(
    `spawn: ${N} × \`/bin/sh -c true\` at concurrency ${J}, child_process vs execa, ${rounds} rounds`,
  );
  note(
    'each measurement in a fresh node process (test/bench/spawn-worker.mjs), 20 warm-up spawns first;',
  );
  note(
    'options as the executor: detached, stdin ignored, stdout+stderr on one file fd; execa with reject:false',
  );
  const dir = makeTempDir('spawn');
  const worker = join(dirname(new URL(import.meta.url).pathname), 'spawn-worker.mjs');
  const peer = (lib) => ({
    name: lib,
    async run() {
      const res = await runTimed(
        NODE,
        [worker, lib, String(N), String(J), join(dir, `${lib}.log`)],
        { stdout: 'pipe' },
      );
      if (res.code !== 0 || res.timedOut)
        return { ok: false, why: `exit ${res.code}: ${res.stderr.trim().slice(-300)}` };
      const r = JSON.parse(res.stdout.trim().split('\n').pop());
      if (r.failures) return { ok: false, why: `${r.failures} spawns failed` };
      (this.imports ??= []).push(r.importMs);
      return { ok: true, ms: r.ms };
    },
  });
  const peers = [peer('child_process'), peer('execa')];
  const { times, failures } = await alternate(peers, rounds, 'spawn');
  removeTempDir(dir);
  const cp = median(times.child_process) / N;
  const ex = median(times.execa) / N;
  const paired = median(
    times.child_process.map((c, i) => (times.execa[i] - c) / N).filter(Number.isFinite),
  );
  table(
    ['library', 'median total', 'ms/job', 'vs child_process'],
    [
      ['node:child_process.spawn', fmtMs(median(times.child_process)), cp.toFixed(3), '1.000×'],
      ['execa 9', fmtMs(median(times.execa)), ex.toFixed(3), fmtRatio(ex / cp)],
    ],
  );
  note(
    `execa costs ${(ex - cp).toFixed(3)} ms/job more (median of per-round differences ${paired.toFixed(3)} ms/job);`,
  );
  note(
    `over ${N} jobs that is ${(((ex - cp) * N) / 1000).toFixed(2)} s; import('execa') itself took ${median(peers[1].imports ?? []).toFixed(0)} ms (median)`,
  );
  return {
    jobs: N,
    concurrency: J,
    rounds,
    msByLib: Object.fromEntries(
      Object.entries(times).map(([k, v]) => [k, v.map((x) => round(x, 1))]),
    ),
    msPerJob: { child_process: round(cp, 4), execa: round(ex, 4) },
    execaExtraMsPerJob: round(ex - cp, 4),
    execaExtraMsPerJobPaired: round(paired, 4),
    execaImportMs: round(median(peers[1].imports ?? []), 1),
    failures,
  };
}

// ---------------------------------------------------------------- validate

function generateManifest(path, n) {
  const out = [
    '# generated by test/bench/run.mjs (validate section)',
    'version: 1',
    'workers: 4',
    'defaults:',
    '  timeout: 10m',
    '  retries: 1',
    '  backoff: { delay: 1s, factor: 2, max: 1m, jitter: true }',
    '  env: { LANG: C.UTF-8 }',
    'pools:',
    '  cpu: { workers: 2 }',
    '  net: { workers: 8 }',
    'jobs:',
  ];
  for (let i = 0; i < n; i++) {
    out.push(`  - name: job-${i}`, `    run: echo ${i} > /dev/null`, `    priority: ${i % 10}`);
    if (i % 3 === 1) out.push('    pool: cpu');
    if (i % 50 === 7) out.push('    timeout: 30s', '    retries: 2');
    if (i % 10 === 9) out.push(`    needs: [job-${i - 1}, job-${i - 7}]`);
  }
  writeFileSync(path, out.join('\n') + '\n');
}

async function validate() {
  const n = opts.validateJobs;
  heading(
    `validate: \`jobrun validate\` of a generated ${n}-job manifest, ${opts.validateRounds} rounds`,
  );
  const dir = makeTempDir('validate');
  const manifest = join(dir, 'big.yaml');
  const t = performance.now();
  generateManifest(manifest, n);
  const bytes = readFileSync(manifest).length;
  note(
    `manifest: ${n} jobs (priorities 0-9, every 3rd in pool cpu, every 10th needs two earlier jobs), ${(bytes / 2 ** 20).toFixed(1)} MB, generated in ${fmtMs(performance.now() - t)}`,
  );
  const haveTime = existsSync('/usr/bin/time');
  note(
    `command: ${haveTime ? "/usr/bin/time -f 'TIME %e %M' " : ''}node bin/jobrun.js validate big.yaml${haveTime ? '' : '   (peak RSS: VmHWM polled from /proc)'}`,
  );
  const runs = [];
  for (let r = 0; r < opts.validateRounds; r++) {
    let res;
    let hwmKB = NaN;
    if (haveTime) {
      res = await runTimed('/usr/bin/time', ['-f', 'TIME %e %M', NODE, BIN, 'validate', manifest], {
        stdout: 'pipe',
        timeoutMs: 600_000,
      });
      const m = /TIME ([\d.]+) (\d+)\s*$/.exec(res.stderr);
      if (m) hwmKB = Number(m[2]);
    } else {
      res = await runPollingHwm([BIN, 'validate', manifest], (v) => (hwmKB = v));
    }
    const ok = res.code === 0 && !res.timedOut;
    const said = res.stdout.trim().split('\n')[0] ?? '';
    if (!ok)
      note(
        `!! round ${r + 1}: exit ${res.code}${res.timedOut ? ' (timed out)' : ''}: ${(res.stdout + res.stderr).trim().split('\n').slice(0, 5).join(' | ')}`,
      );
    else if (!said.includes(String(n)) && !said.includes(n.toLocaleString('en-US')))
      note(`!! round ${r + 1}: output does not mention ${n}: ${said}`);
    runs.push({ ok, ms: res.ms, rssKB: hwmKB, stdout: said });
    note(
      `round ${r + 1}: ${fmtMs(res.ms)}, peak RSS ${fmtMB(hwmKB)}, said: ${said}  (load ${load()})`,
    );
  }
  removeTempDir(dir);
  const good = runs.filter((r) => r.ok);
  const ms = median(good.map((r) => r.ms));
  const rss = Math.max(...good.map((r) => r.rssKB));
  table(
    ['measure', 'value'],
    [
      ['median time', fmtMs(ms)],
      ['peak RSS (max of rounds)', fmtMB(rss)],
      ['per job', `${((ms / n) * 1000).toFixed(1)} µs`],
    ],
  );
  return {
    jobs: n,
    manifestMB: round(bytes / 2 ** 20, 2),
    runs: runs.map((r) => ({ ...r, ms: round(r.ms, 1) })),
    medianSeconds: round(ms / 1000, 3),
    peakRssMB: round(rss / 1024, 1),
    ok: good.length === runs.length,
  };
}

/** Run `jobrun validate` polling its VmHWM every 20 ms (for when /usr/bin/time is missing). */
async function runPollingHwm(args, set) {
  let child;
  let best = NaN;
  const p = runTimed(NODE, args, {
    stdout: 'pipe',
    timeoutMs: 600_000,
    onSpawn: (c) => (child = c),
  });
  let done = false;
  p.then(() => (done = true));
  for (let i = 0; !done && i < 30_000; i++) {
    const m = child ? procMemory(child.pid) : undefined;
    if (m && !(m.hwmKB <= best)) best = m.hwmKB;
    await sleep(20);
  }
  set(best);
  return p;
}

// ---------------------------------------------------------------- live

async function live() {
  const { jobs: N, workers: J, rounds } = opts;
  heading(
    `live: ${N} × \`true\` at -j ${J}, --progress tty vs none, both in a pty (script), ${rounds} rounds`,
  );
  const dir = makeTempDir('live');
  const input = join(dir, 'lines.txt');
  writeLines(input, N);
  const env = {
    ...process.env,
    TERM: process.env.TERM && process.env.TERM !== 'dumb' ? process.env.TERM : 'xterm-256color',
  };
  delete env.CI;
  delete env.NO_COLOR;
  const inPty = (mode, logs, jobCmd, inFile) =>
    `stty cols 120 rows 40 2>/dev/null; exec ${shq(NODE)} ${shq(BIN)} run --stdin --progress ${mode} --logs ${shq(logs)} -j ${J} -- ${shq(jobCmd)} < ${shq(inFile)}`;

  // Probe: is the live view implemented, or does --progress tty fall back to plain lines?
  const probeIn = join(dir, 'probe.txt');
  writeLines(probeIn, 16);
  const probeOut = join(dir, 'probe.out');
  const probeLogs = makeTempDir('logs');
  const probe = await runTimed(
    'script',
    ['-qfec', inPty('tty', probeLogs, 'sleep 0.1; true', probeIn), '/dev/null'],
    { stdout: probeOut, env, timeoutMs: 60_000 },
  );
  removeTempDir(probeLogs);
  const shown = existsSync(probeOut) ? readFileSync(probeOut, 'latin1') : '';
  const markers = {
    hideCursor: shown.includes('\x1b[?25l'),
    showCursor: shown.includes('\x1b[?25h'),
    cursorUp: new RegExp(`${ESC}\\[\\d*A`).test(shown),
    eraseLine: new RegExp(`${ESC}\\[[012]?[KJ]`).test(shown),
  };
  const liveOn = markers.hideCursor || markers.cursorUp;
  note(
    `probe (16 × "sleep 0.1; true" with --progress tty in script): exit ${probe.code}, ${shown.length} bytes, markers ${JSON.stringify(markers)}`,
  );
  note(
    liveOn
      ? 'live view detected (cursor hidden / moved): the tty numbers below measure it'
      : 'NOTE: no live view detected — --progress tty currently falls back to plain lines; the ratio below measures that fallback, not a live view',
  );
  if (liveOn && !markers.showCursor) note('!! the probe hid the cursor but never showed it again');

  const peer = (mode) => ({
    name: `--progress ${mode}`,
    async run() {
      const logs = makeTempDir('logs');
      try {
        const res = await runTimed(
          'script',
          ['-qfec', inPty(mode, logs, 'true', input), '/dev/null'],
          { env, timeoutMs: 180_000 },
        );
        return checkJobrun(res, N, { summary: false });
      } finally {
        removeTempDir(logs);
      }
    },
  });
  note(
    `command: script -qfec "stty cols 120 rows 40; exec node bin/jobrun.js run --stdin --progress tty|none --logs <tmp> -j ${J} -- true < lines.txt" /dev/null  >/dev/null`,
  );
  const { times, failures } = await alternate([peer('tty'), peer('none')], rounds, 'live');
  removeTempDir(dir);
  const tty = median(times['--progress tty']);
  const none = median(times['--progress none']);
  const ratio = tty / none;
  const paired = pairedRatio(times['--progress tty'], times['--progress none']);
  table(
    ['mode', 'median', 'min', 'max'],
    Object.entries(times).map(([k, v]) => [
      k,
      fmtMs(median(v)),
      fmtMs(Math.min(...v)),
      fmtMs(Math.max(...v)),
    ]),
  );
  note(
    `tty / none: ${fmtRatio(ratio)} (median of per-round ratios ${fmtRatio(paired)})  bar ≤ 1.05: ${ratio <= 1.05 ? 'MET' : 'MISSED'}${liveOn ? '' : '  [live view not implemented: fallback measured]'}`,
  );
  return {
    jobs: N,
    workers: J,
    rounds,
    liveViewDetected: liveOn,
    probeMarkers: markers,
    msByMode: Object.fromEntries(
      Object.entries(times).map(([k, v]) => [k, v.map((x) => round(x, 1))]),
    ),
    medianMs: { tty: round(tty, 1), none: round(none, 1) },
    ratio: round(ratio, 3),
    ratioPaired: round(paired, 3),
    bar: { ratio: 1.05, met: ratio <= 1.05 },
    failures,
  };
}

// ---------------------------------------------------------------- stream

async function stream() {
  const { maxLines, workers: J } = opts;
  const budgetMs = opts.streamTimeoutS * 1000;
  const maxQueue = 1000;
  heading(
    `stream: up to ${maxLines} stdin lines into --max-queue ${maxQueue} -j ${J}${opts.capture ? ` --capture ${opts.capture}` : ''}, RSS sampled every 100 ms, budget ${opts.streamTimeoutS} s`,
  );
  const logs = makeTempDir('stream-logs');
  const args = [
    BIN,
    'run',
    '--stdin',
    '--max-queue',
    String(maxQueue),
    '-j',
    String(J),
    '--progress',
    'none',
    '--events',
    '--logs',
    logs,
    // with --capture every job prints its line and the result rides in its job_end event
    ...(opts.capture ? ['--capture', opts.capture, '--', 'echo'] : ['--', 'true']),
  ];
  note(
    `command: <bench writes lines 1..N with backpressure> | node bin/jobrun.js ${args.slice(1).join(' ').replace(logs, '<tmp>')} | <bench counts events>`,
  );
  note(
    '"consumed" = job_queued events (lines jobrun has read into its queue); "done" = job_end events',
  );
  const child = spawnTracked(NODE, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const t0 = performance.now();
  let queued = 0;
  let ended = 0;
  let withResult = 0;
  let written = 0;
  let stderr = '';
  let rest = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    const text = rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      // Lines start with {"type":"…" — compare just the type.
      if (text.startsWith('{"type":"job_queued"', start)) queued++;
      else if (text.startsWith('{"type":"job_end"', start)) {
        ended++;
        const nlAt = nl;
        if (opts.capture && text.slice(start, nlAt).includes('"result":')) withResult++;
      }
      start = nl + 1;
    }
    rest = text.slice(start);
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-8192)));
  const exited = new Promise((res) => child.once('close', (code, signal) => res({ code, signal })));
  child.stdin.on('error', () => {}); // EPIPE if jobrun dies early: reported by its exit code

  // Sampler: VmRSS/VmHWM every 100 ms, with the counts at that moment.
  const samples = [];
  let alive = true;
  exited.then(() => (alive = false));
  const sampler = (async () => {
    while (alive) {
      const m = procMemory(child.pid);
      if (m)
        samples.push({
          t: performance.now() - t0,
          rssKB: m.rssKB,
          hwmKB: m.hwmKB,
          queued,
          ended,
          written,
        });
      await sleep(100);
    }
  })();
  const progress = setInterval(() => {
    const last = samples.at(-1);
    note(
      `  ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s: written ${written}, consumed ${queued}, done ${ended}, RSS ${fmtMB(last?.rssKB)}  (load ${load()})`,
    );
  }, 30_000);

  // Generator: lines 1..maxLines in 1,000-line writes, waiting for 'drain' when the
  // pipe is full (that wait is the backpressure), until the budget runs out.
  let stoppedEarly = false;
  const BATCH = 1000;
  while (written < maxLines && alive) {
    if (performance.now() - t0 > budgetMs) {
      stoppedEarly = true;
      break;
    }
    const n = Math.min(BATCH, maxLines - written);
    let s = '';
    for (let i = written + 1; i <= written + n; i++) s += i + '\n';
    written += n;
    if (!child.stdin.write(s)) {
      const left = budgetMs - (performance.now() - t0);
      if (left > 0) await Promise.race([once(child.stdin, 'drain'), exited, sleep(left)]);
    }
  }
  const feedMs = performance.now() - t0;
  child.stdin.end();
  // After the input ends jobrun should finish what it queued (≤ max-queue + pipe) and exit.
  const timer = setTimeout(() => stopChild(child, 'SIGTERM'), 120_000);
  const killTimer = setTimeout(() => stopChild(child, 'SIGKILL'), 130_000);
  const { code, signal } = await exited;
  clearTimeout(timer);
  clearTimeout(killTimer);
  clearInterval(progress);
  await sampler;
  const totalMs = performance.now() - t0;
  removeTempDir(logs);

  const peakWhere = (pred) => Math.max(...samples.filter(pred).map((s) => s.rssKB));
  const at100k = peakWhere((s) => s.queued <= 100_000);
  const after100k = peakWhere((s) => s.queued > 100_000);
  const overall = Math.max(...samples.map((s) => s.rssKB));
  const lastHwm = samples.at(-1)?.hwmKB;
  const checkpoints = [
    10_000, 25_000, 50_000, 75_000, 100_000, 200_000, 300_000, 500_000, 750_000, 1_000_000,
  ].filter((c) => c <= maxLines);
  const rows = checkpoints.map((c) => {
    const upTo = samples.filter((s) => s.queued <= c);
    const reached = samples.some((s) => s.queued >= c) || queued >= c;
    const first = samples.find((s) => s.queued >= c);
    return [
      c.toLocaleString('en-US'),
      reached ? fmtMB(Math.max(...upTo.map((s) => s.rssKB))) : 'not reached',
      reached && first ? fmtMB(first.rssKB) : '',
      reached && first ? `${(first.t / 1000).toFixed(1)} s` : '',
    ];
  });
  table(['lines consumed', 'peak RSS so far', 'RSS then', 'at'], rows);
  const rate = ended / (totalMs / 1000);
  note(
    `jobrun exit ${code ?? signal}; written ${written}, consumed ${queued}, done ${ended} in ${fmtMs(totalMs)} (feeding ${fmtMs(feedMs)}); ${rate.toFixed(0)} jobs/s`,
  );
  if (stoppedEarly)
    note(
      `stopped feeding at the ${opts.streamTimeoutS} s budget: ${ended} of ${maxLines} lines done; at this rate 1M would take ${(1e6 / rate / 60).toFixed(1)} min`,
    );
  if (opts.capture) note(`job_end events carrying a result: ${withResult} of ${ended}`);
  note(
    `peak RSS up to 100k lines ${fmtMB(at100k)}; after 100k ${fmtMB(after100k)}; overall ${fmtMB(overall)}; VmHWM at last sample ${fmtMB(lastHwm)}`,
  );
  if (Number.isFinite(after100k) && Number.isFinite(at100k))
    note(`growth after 100k: ${fmtRatio(after100k / at100k)} (flat ≈ 1.0×)`);
  if (code !== 0)
    note(`!! jobrun exited ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  if (ended !== written && code === 0)
    note(`!! ${written} lines written but ${ended} job_end events`);
  // Thin the samples for the JSON: one per second.
  const thinned = samples
    .filter((s, i) => i % 10 === 0)
    .map((s) => ({
      t: round(s.t / 1000, 1),
      rssMB: round(s.rssKB / 1024, 1),
      queued: s.queued,
      ended: s.ended,
    }));
  return {
    maxLines,
    maxQueue,
    workers: J,
    capture: opts.capture ?? null,
    withResult: opts.capture ? withResult : undefined,
    budgetSeconds: opts.streamTimeoutS,
    written,
    consumed: queued,
    done: ended,
    stoppedEarly,
    exit: code ?? signal,
    seconds: round(totalMs / 1000, 1),
    jobsPerSecond: round(rate, 1),
    peakRssMB: {
      upTo100k: round(at100k / 1024, 1),
      after100k: round(after100k / 1024, 1),
      overall: round(overall / 1024, 1),
      vmHwmLastSample: round(lastHwm / 1024, 1),
    },
    checkpoints: Object.fromEntries(rows.map((r) => [r[0], r[1]])),
    samples: thinned,
  };
}

// ---------------------------------------------------------------- redis

async function redis() {
  heading('redis (test/bench/redis.mjs)');
  const script = join(dirname(new URL(import.meta.url).pathname), 'redis.mjs');
  if (!existsSync(script)) {
    note('skipped: test/bench/redis.mjs does not exist (yet)');
    return { skipped: 'no test/bench/redis.mjs' };
  }
  if (!(await onPath('redis-server'))) {
    note('skipped: redis-server is not on PATH');
    return { skipped: 'no redis-server' };
  }
  const limitMin = 5;
  const child = spawnTracked(NODE, [script], { cwd: ROOT, stdio: 'inherit' });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    stopChild(child, 'SIGKILL');
  }, limitMin * 60_000);
  const [code, signal] = await once(child, 'close');
  clearTimeout(timer);
  note(
    timedOut
      ? `!! redis.mjs did not exit within ${limitMin} min: its process group was killed (its printed numbers above still stand)`
      : `redis.mjs exited ${code ?? signal}`,
  );
  return {
    exit: code ?? signal,
    timedOut,
    failures:
      timedOut || code !== 0
        ? [`redis.mjs ${timedOut ? 'timed out' : `exited ${code ?? signal}`}`]
        : [],
  };
}

// ---------------------------------------------------------------- main

if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('bench: dist/ is missing; run `npm run build` (or `npm run bench`) first');
  process.exit(2);
}

const runners = {
  trivial,
  marginal,
  gzip,
  spawn: spawnBench,
  validate,
  live,
  stream,
  redis,
  batching: async () =>
    (await import('./batching.mjs')).batching({ rounds: opts.rounds, workers: opts.workers, note }),
  timeout: async () => (await import('./timeout.mjs')).timeoutBench({ rounds: opts.rounds, note }),
  floor: async () =>
    (await import('./floor.mjs')).floor({
      rounds: opts.rounds,
      jobs: opts.jobsGiven ? opts.jobs : 1000,
      old: opts.old,
      note,
    }),
  startup: async () =>
    (await import('./startup.mjs')).startup({
      rounds: Math.max(opts.rounds, 9),
      old: opts.old,
      note,
    }),
  cache: async () =>
    (await import('./cache.mjs')).cache({
      rounds: Math.min(opts.rounds, 3),
      files: opts.gzipFiles,
      workers: opts.workers,
      note,
    }),
};
const started = new Date();
const results = { machine: await machine(), sections: {} };
let failed = false;
for (const name of opts.sections) {
  const t = performance.now();
  try {
    results.sections[name] = {
      ...(await runners[name]()),
      at: new Date().toISOString(),
      loadavgAfter: loadavg().map((x) => round(x, 2)),
    };
    if (results.sections[name].failures?.length) failed = true;
  } catch (err) {
    failed = true;
    note(`!! section ${name} crashed: ${err?.stack ?? err}`);
    results.sections[name] = { error: String(err?.message ?? err) };
  }
  note(`(${name}: ${fmtMs(performance.now() - t)})`);
}

// Merge into the existing file so running one section keeps the others' last results.
let previous = {};
try {
  previous = JSON.parse(readFileSync(opts.json, 'utf8'));
} catch {
  /* none yet */
}
const merged = {
  startedAt: started.toISOString(),
  machine: results.machine,
  sections: { ...(previous.sections ?? {}), ...results.sections },
};
mkdirSync(dirname(opts.json), { recursive: true });
writeFileSync(opts.json, JSON.stringify(merged, null, 2) + '\n');
console.log(`\nresults: ${opts.json}`);
process.exitCode = failed ? 1 : 0;
