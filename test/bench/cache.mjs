// The cache row of `npm run bench`: 3,000 gzip jobs (`cache: true`, one output each)
// run from an empty cache, then again unchanged, then again with 10 inputs changed,
// next to GNU parallel running the same batch (it reruns everything every time).
// Each round starts from an empty cache and output folder. Run alone with
//   node test/bench/cache.mjs [--rounds N] [--files N] [--workers N]
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  BIN,
  fmtMs,
  fmtRatio,
  makeTempDir,
  median,
  onPath,
  removeTempDir,
  round,
  runTimed,
  table,
  whenMain,
} from './lib.mjs';

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

/** Runs the comparison; returns the section's results for bench.json. */
export async function cache({ rounds = 3, files = 3000, workers = 2, note = console.error } = {}) {
  const dir = makeTempDir('cache');
  try {
    mkdirSync(join(dir, 'data'));
    const names = [];
    for (let i = 0; i < files; i++) {
      const name = `data/f${String(i).padStart(5, '0')}.txt`;
      writeFileSync(join(dir, name), `line ${i} of a small input file\n`.repeat(60));
      names.push(name);
    }
    writeFileSync(join(dir, 'list'), names.join('\n') + '\n');
    writeFileSync(
      join(dir, 'jobs.yaml'),
      `version: 1
workers: ${workers}
jobs:
  - name: "gz-{stem}"
    for_each: "data/*.txt"
    run: "gzip -c {} > out/{stem}.gz"
    cache: true
    outputs: ["out/{stem}.gz"]
`,
    );
    const jobrun = (label) => ({
      label,
      cmd: process.execPath,
      args: [BIN, 'run', 'jobs.yaml', '--progress', 'none', '--json'],
    });
    // how many jobs each step must run (the rest restored from the cache)
    const mustRun = { 'first run': files, 'unchanged rerun': 0, '10 changed rerun': 10 };
    const steps = ['first run', 'unchanged rerun', '10 changed rerun'];
    const times = Object.fromEntries([...steps, 'GNU parallel'].map((s) => [s, []]));
    const failures = [];
    const hasParallel = await onPath('parallel');
    const timed = async (label, cmd, args, stdin) => {
      const report = join(dir, 'report.json');
      const stdout = label in mustRun ? report : undefined;
      const res = await runTimed(cmd, args, { cwd: dir, stdin, stdout, timeoutMs: 900_000 });
      if (res.code === 0 && !res.timedOut) times[label].push(res.ms);
      else failures.push(`${label}: exit ${res.code ?? res.signal} ${res.stderr.slice(-300)}`);
      if (stdout !== undefined && res.code === 0) {
        const { succeeded, cached } = JSON.parse(readFileSync(report, 'utf8')).summary;
        if (succeeded !== mustRun[label] || succeeded + cached !== files)
          failures.push(
            `${label}: ran ${succeeded}, restored ${cached}; expected to run ${mustRun[label]}`,
          );
      }
      return res.ms;
    };
    for (let r = 0; r < rounds; r++) {
      rmSync(join(dir, '.jobrun'), { recursive: true, force: true });
      rmSync(join(dir, 'out'), { recursive: true, force: true });
      mkdirSync(join(dir, 'out'));
      const line = [];
      for (const step of steps) {
        if (step === '10 changed rerun') {
          for (let i = 0; i < 10; i++) {
            const name = names[Math.floor((i * files) / 10)];
            appendFileSync(join(dir, name), `changed in round ${r}\n`);
          }
        }
        const { cmd, args } = jobrun(step);
        line.push(`${step} ${fmtMs(await timed(step, cmd, args))}`);
      }
      if (hasParallel) {
        const script = `gzip -c {} > out/{/.}.gz`;
        const args = ['--will-cite', '-j', String(workers), script, '::::', join(dir, 'list')];
        line.push(`GNU parallel ${fmtMs(await timed('GNU parallel', 'parallel', args))}`);
      }
      note(`cache round ${r + 1}/${rounds}: ${line.join(', ')}  (load ${load()})`);
    }
    const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
    const first = medians['first run'];
    console.log(
      `\n## cache: ${files} gzip jobs with cache: true at -j ${workers}, ${rounds} rounds\n`,
    );
    table(
      ['run', 'median', 'vs first run'],
      Object.entries(medians).map(([k, ms]) => [k, fmtMs(ms), fmtRatio(ms / first)]),
    );
    const unchanged = medians['unchanged rerun'] / first;
    console.log(
      `\nunchanged rerun / first run: ${fmtRatio(unchanged)} (target under 0.1×; load ${load()})`,
    );
    if (!hasParallel) note('GNU parallel is not on PATH: its row is missing');
    for (const f of failures) note(`!! ${f}`);
    return {
      files,
      workers,
      rounds,
      medianMs: Object.fromEntries(Object.entries(medians).map(([k, v]) => [k, round(v, 1)])),
      unchangedRatio: round(unchanged),
      failures,
    };
  } finally {
    removeTempDir(dir);
  }
}

await whenMain(import.meta.url, async (num) => {
  const res = await cache({
    rounds: num('--rounds', 3),
    files: num('--files', 3000),
    workers: num('--workers', 2),
  });
  process.exitCode = res.failures.length ? 1 : 0;
});
