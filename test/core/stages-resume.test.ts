import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Scheduler } from '../../src/core/scheduler.js';
import { stagePlan } from '../../src/manifest/stages.js';
import type { CapturedResult } from '../../src/model/result.js';
import { EventLog, FakeExecutor, job, jobs } from './harness.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/**
 * `--resume` of src → t-{item}, with `after` also needing src: src succeeded in the
 * earlier run with `result`, so the stage expands as the run is admitted.
 */
async function resumed(result: CapturedResult) {
  const log = new EventLog();
  const executor = new FakeExecutor();
  const { name: _n, command: _c, index: _i, needs: _d, ...settings } = job('t');
  const stage = { name: 't-{item}', run: 'run {item}', from: 'src', needs: [], settings };
  const scheduler = new Scheduler({
    runId: 'test',
    manifestPath: null,
    logDir: '/tmp/jobrun-test-logs',
    workers: { min: 1, max: 2 },
    pools: {},
    order: 'fifo',
    executor,
    emit: log.emit,
    stages: stagePlan([stage]),
    alreadyDone: (spec) => (spec.name === 'src' ? { result } : false),
  });
  const done = scheduler.run(jobs(['src'], ['after', { needs: ['src'] }]));
  let settled = false;
  void done.then(() => (settled = true));
  for (let i = 0; i < 200 && !settled; i++) await vi.advanceTimersByTimeAsync(50);
  expect(settled).toBe(true);
  const ended = log.of('job_end').map((e) => `${e.job.name}:${e.job.status}`);
  return { starts: executor.starts, ended: ended.sort(), outcome: await done };
}

// the template stayed pending among the first jobs after it expanded: it was queued
// and run as a job (`run {item}`), and its second end finished the run before `after`
it('runs a resumed source stage as its jobs, never as its template', async () => {
  const r = await resumed(['a']);
  expect(r.starts.sort()).toEqual(['after', 't-a']);
  expect(r.ended).toEqual(['after:succeeded', 'src:succeeded', 't-a:succeeded']);
  expect(r.outcome.summary.total).toBe(3);
});

it('ends a run whose resumed source left no items with every other job', async () => {
  const r = await resumed([]);
  expect(r.starts).toEqual(['after']);
  expect(r.ended).toEqual(['after:succeeded', 'src:succeeded']);
  expect(r.outcome.summary.total).toBe(2);
});
