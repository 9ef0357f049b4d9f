// The percent-timeout row of `npm run bench`: the scheduler's per-job cost with
// `timeout: 50%` (a timeout from the median of the jobs done so far, read at every
// start) next to a fixed `timeout: 60s`, on 20,000 jobs. Attempts are instant and
// in-process (an executor that resolves at once with a random duration), so the row
// measures jobrun's own work per job, not process starts. Run alone with
//   node test/bench/timeout.mjs [--rounds N] [--jobs N]
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { fmtRatio, median, round, table, ROOT, whenMain } from './lib.mjs';

const { Scheduler } = await import(pathToFileURL(join(ROOT, 'dist/core/scheduler.js')).href);

function spec(index, timeout) {
  return {
    name: `j${index}`,
    command: `run ${index}`,
    index,
    priority: 0,
    needs: [],
    timeout,
    killGraceMs: 1000,
    retries: 0,
    backoff: { delayMs: 0, factor: 1, maxMs: 0, jitter: false },
    shell: '/bin/sh',
    cwd: '/',
    env: {},
    allowFailure: false,
  };
}

/** Succeeds at once, with a duration drawn at random (so the median keeps moving). */
const instant = {
  start(req) {
    const result = Promise.resolve({
      attempt: req.attempt,
      startedAt: Date.now(),
      durationMs: 1 + Math.floor(Math.random() * 1000),
      timedOut: false,
      exitCode: 0,
      worker: req.worker,
    });
    return { result, pid: 1, stop() {} };
  },
};

async function once(jobs, timeout) {
  const list = Array.from({ length: jobs }, (_, i) => spec(i, timeout));
  const scheduler = new Scheduler({
    runId: 'bench',
    manifestPath: null,
    logDir: '/nonexistent',
    workers: { min: 2, max: 2 },
    pools: {},
    order: 'fifo',
    executor: instant,
    emit: () => {},
  });
  const t0 = performance.now();
  const outcome = await scheduler.run(list);
  const ms = performance.now() - t0;
  if (outcome.summary.succeeded !== jobs) throw new Error('bench: not every job succeeded');
  return ms;
}

/** Alternates the two timeouts for `rounds` rounds; returns the section's results. */
export async function timeoutBench({ rounds = 5, jobs = 20_000, note = console.error } = {}) {
  const peers = { 'timeout: 60s': { ms: 60_000 }, 'timeout: 50%': { percent: 50 } };
  const times = Object.fromEntries(Object.keys(peers).map((k) => [k, []]));
  await once(2000, peers['timeout: 50%']); // warm up the JIT
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? Object.keys(peers).reverse() : Object.keys(peers);
    for (const name of order) times[name].push(await once(jobs, peers[name]));
  }
  const perJob = (name) => (median(times[name]) * 1000) / jobs; // µs
  const fixed = perJob('timeout: 60s');
  const percent = perJob('timeout: 50%');
  note(`\n== timeout: 50% vs a fixed timeout, the scheduler's work per job (${jobs} instant jobs)`);
  table(
    ['timeout', `median of ${rounds} runs`, 'per job', 'vs fixed'],
    Object.keys(peers).map((name) => [
      name,
      `${round(median(times[name]), 1)} ms`,
      `${round(perJob(name), 2)} µs`,
      fmtRatio(perJob(name) / fixed),
    ]),
  );
  return {
    jobs,
    rounds,
    fixedUsPerJob: round(fixed, 3),
    percentUsPerJob: round(percent, 3),
    ratio: round(percent / fixed, 3),
  };
}

await whenMain(import.meta.url, async (num) => {
  console.log(
    JSON.stringify(await timeoutBench({ rounds: num('--rounds', 5), jobs: num('--jobs', 20_000) })),
  );
});
