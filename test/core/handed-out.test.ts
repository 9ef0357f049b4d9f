import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { QueueingFakeExecutor, finish, jobs, startScheduler } from './harness.js';

// The stopping line's count and grace come from here: a spawner tells starts late, so
// the jobs reporters heard start may be fewer, with shorter graces, than a stop reaches.

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

it('counts the attempts handed out, with the longest grace of them and of the jobs queued behind', async () => {
  const executor = new QueueingFakeExecutor({ a: [{ ms: 1000 }], b: [{ ms: 100 }] });
  const specs = jobs(['a', { killGraceMs: 100 }], ['b', { killGraceMs: 3000 }]);
  const { scheduler, done } = startScheduler(specs, executor);
  await vi.advanceTimersByTimeAsync(10);
  expect(executor.queued).toBe(1); // b waits behind a, and may start the moment a ends
  expect(scheduler.handedOut()).toEqual({ jobs: 1, graceMs: 3000 });
  await finish(done);
  expect(scheduler.handedOut()).toEqual({ jobs: 0 });
});
