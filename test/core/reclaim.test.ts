import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueueingFakeExecutor, finish, jobs, startScheduler } from './harness.js';

// A job queued behind a running one (the spawner's one-deep queue) comes back to start
// in a slot that falls free, rather than wait for the job ahead of it to end.

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** Ends of jobs by name: the fake time each ended at. */
function endTimes(log: { of: (t: 'job_end') => Array<{ time: number; job: { name: string } }> }) {
  return Object.fromEntries(log.of('job_end').map((e) => [e.job.name, e.time]));
}

describe('a free slot takes back a queued job', () => {
  it('a short job queued behind a long one starts in the slot a shorter one freed', async () => {
    const executor = new QueueingFakeExecutor({
      a: [{ ms: 5000 }],
      b: [{ ms: 100 }],
      c: [{ ms: 100 }],
    });
    const t0 = Date.now();
    const { log, done } = startScheduler(jobs(['a'], ['b'], ['c']), executor, {
      workers: { min: 2, max: 2 },
    });
    const outcome = await finish(done);
    expect(outcome.summary).toMatchObject({ total: 3, succeeded: 3 });
    expect(executor.queued).toBe(1); // c waited behind a
    expect(executor.withdrawn).toEqual(['c']); // and came back as b ended
    const ends = endTimes(log);
    expect(ends.c! - t0).toBeLessThan(1000); // not after a's 5 s
    expect(executor.peak).toBeLessThanOrEqual(2);
    expect(executor.starts.filter((n) => n === 'c')).toHaveLength(1);
  });

  it('leaves a queued job where it is when its pool has no room for it anyway', async () => {
    const executor = new QueueingFakeExecutor({
      a: [{ ms: 1000 }],
      b: [{ ms: 100 }],
      c: [{ ms: 100 }],
    });
    const { log, done } = startScheduler(
      jobs(['a', { pool: 'p' }], ['b'], ['c', { pool: 'p' }]),
      executor,
      { workers: { min: 2, max: 2 }, pools: { p: { workers: 1 } } },
    );
    const outcome = await finish(done);
    expect(outcome.summary).toMatchObject({ total: 3, succeeded: 3 });
    expect(executor.queued).toBe(1);
    expect(executor.withdrawn).toEqual([]); // no round trip for nothing
    expect(executor.peakByPool.get('p')).toBe(1);
    const ends = endTimes(log);
    expect(ends.c!).toBeGreaterThan(ends.a!);
  });

  it('takes back only as many as there are free slots, best first', async () => {
    const executor = new QueueingFakeExecutor({
      a: [{ ms: 5000 }],
      b: [{ ms: 5000 }],
      c: [{ ms: 100 }],
      d: [{ ms: 3000 }],
      e: [{ ms: 3000 }],
    });
    // three slots: a, b, c run; e and d wait behind a and b; c ends: one slot, one comes back
    const { log, done } = startScheduler(
      jobs(
        ['a', { priority: 3 }],
        ['b', { priority: 3 }],
        ['c', { priority: 3 }],
        ['d', { priority: 1 }],
        ['e', { priority: 2 }],
      ),
      executor,
      { workers: { min: 3, max: 3 } },
    );
    const outcome = await finish(done);
    expect(outcome.summary).toMatchObject({ total: 5, succeeded: 5 });
    expect(executor.queued).toBe(2);
    // the better of the two first, and only it: d came back when e's end freed a slot
    expect(executor.withdrawn).toEqual(['e', 'd']);
    const startOf = (name: string) => log.of('job_start').find((e) => e.name === name)!.time;
    expect(startOf('d')).toBeGreaterThanOrEqual(endTimes(log).e!);
    expect(startOf('d')).toBeLessThan(endTimes(log).b!); // not after b's 5 s
    expect(executor.peak).toBeLessThanOrEqual(3);
  });

  it('a cancel while a job is on its way back to a free slot cancels it', async () => {
    const executor = new QueueingFakeExecutor({
      a: [{ ms: 5000 }],
      b: [{ ms: 100 }],
      c: [{ ms: 100 }],
    });
    executor.withdrawMs = 50; // the spawner answers a withdrawal later
    const { log, scheduler, done } = startScheduler(jobs(['a'], ['b'], ['c']), executor, {
      workers: { min: 2, max: 2 },
    });
    await vi.advanceTimersByTimeAsync(120); // b ended at 100: c is being withdrawn
    expect(executor.withdrawn).toEqual(['c']);
    expect(scheduler.cancel(['c'])).toMatchObject({ cancelled: ['c'], unknown: [] });
    await finish(done);
    expect(log.ended('c')).toMatchObject({ status: 'cancelled', attempts: [] });
    expect(executor.starts).not.toContain('c');
  });
});
