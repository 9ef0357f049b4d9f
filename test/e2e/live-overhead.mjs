#!/usr/bin/env node
// The live view's cost: the same 2,000-job batch in a pseudo-terminal with
// `--progress tty` and with `--progress none`, alternated, median of N runs each.
// Prints the ratio (the budget: at most 1.05). Run after `npm run build`:
//   node test/e2e/live-overhead.mjs [runs=5] [jobs=2000]
// `npm run bench` can import { liveOverhead } and print its line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/jobrun.js', import.meta.url));

function timeRun(dir, mode) {
  const start = process.hrtime.bigint();
  const cmd = `stty cols 120 rows 30; exec node '${BIN}' run jobs.yaml --progress ${mode}`;
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], {
    cwd: dir,
    env: { ...process.env, CI: '' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`jobrun --progress ${mode} exited ${r.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export function liveOverhead({ runs = 5, jobs = 2000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'jobrun-live-bench-'));
  try {
    const items = Array.from({ length: jobs }, (_, i) => i).join(', ');
    writeFileSync(
      join(dir, 'jobs.yaml'),
      `version: 1\nworkers: 8\njobs:\n  - name: j{item}\n    for_each: [${items}]\n    run: "true"\n`,
    );
    const none = [];
    const live = [];
    for (let i = 0; i < runs; i++) {
      none.push(timeRun(dir, 'none'));
      live.push(timeRun(dir, 'tty'));
    }
    return {
      jobs,
      runs,
      noneMs: median(none),
      liveMs: median(live),
      ratio: median(live) / median(none),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = liveOverhead({
    runs: Number(process.argv[2] ?? 5),
    jobs: Number(process.argv[3] ?? 2000),
  });
  console.log(
    `live view overhead: ${r.jobs} jobs, median of ${r.runs}: --progress none ${r.noneMs.toFixed(0)}ms, ` +
      `tty ${r.liveMs.toFixed(0)}ms, ratio ${r.ratio.toFixed(3)} (budget 1.05)`,
  );
}
