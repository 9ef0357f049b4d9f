import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Scheduler, type SchedulerOptions } from '../../src/core/scheduler.js';
import { stagePlan } from '../../src/manifest/stages.js';
import type { JobSpec } from '../../src/model/job.js';
import type { CapturedResult } from '../../src/model/result.js';
import { EventLog, FakeExecutor, job, jobs, propertyOptions } from './harness.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** A `--resume` run of `specs` to its end, in fake time: which jobs started, and the ends. */
async function resume(specs: JobSpec[], options: Partial<SchedulerOptions>) {
  const log = new EventLog();
  const executor = new FakeExecutor();
  const scheduler = new Scheduler({ ...propertyOptions(log, executor, 2), ...options });
  const done = scheduler.run(specs);
  let settled = false;
  void done.then(() => (settled = true));
  for (let i = 0; i < 200 && !settled; i++) await vi.advanceTimersByTimeAsync(50);
  expect(settled).toBe(true);
  const ends = log.of('job_end').map((e) => e.job);
  return { starts: executor.starts, ends, outcome: await done };
}

/** src → t-{item}, and `after` needs src; src succeeded in the earlier run with `result`. */
function resumedSource(result: CapturedResult) {
  const { name: _n, command: _c, index: _i, needs: _d, ...settings } = job('t');
  const stage = { name: 't-{item}', run: 'run {item}', from: 'src', needs: [], settings };
  return resume(jobs(['src'], ['after', { needs: ['src'] }]), {
    stages: stagePlan([stage]),
    alreadyDone: (spec) => (spec.name === 'src' ? { result } : false),
  });
}

const states = (ends: Array<{ name: string; status: string }>) =>
  ends.map((j) => `${j.name}:${j.status}`).sort();

// the template stayed pending among the first jobs after it expanded: it was queued
// and run as a job (`run {item}`), and its second end finished the run before `after`
it('runs a resumed source stage as its jobs, never as its template', async () => {
  const r = await resumedSource(['a']);
  expect(r.starts.sort()).toEqual(['after', 't-a']);
  expect(states(r.ends)).toEqual(['after:succeeded', 'src:succeeded', 't-a:succeeded']);
  expect(r.outcome.summary.total).toBe(3);
});

it('ends a run whose resumed source left no items with every other job', async () => {
  const r = await resumedSource([]);
  expect(r.starts).toEqual(['after']);
  expect(states(r.ends)).toEqual(['after:succeeded', 'src:succeeded']);
  expect(r.outcome.summary.total).toBe(2);
});

// a's resumed end released b, which was queued before the journal was asked about it
it('runs no job of a chain that succeeded in the earlier run again', async () => {
  const specs = jobs(['a'], ['b', { needs: ['a'] }], ['c', { needs: ['b'] }]);
  const r = await resume(specs, { alreadyDone: (spec) => spec.name !== 'c' && {} });
  expect(r.starts).toEqual(['c']);
  expect(r.ends.map((j) => [j.name, j.reason])).toEqual([
    ['a', 'succeeded in an earlier run'],
    ['b', 'succeeded in an earlier run'],
    ['c', undefined],
  ]);
});
