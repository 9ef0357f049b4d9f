import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { finish, jobs, startRun as setup } from './harness.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('steering a running scheduler', () => {
  it('cancel: a job waiting for its needs ends cancelled, and its dependant is skipped', async () => {
    const specs = jobs(['a', {}], ['b', { needs: ['a'] }], ['c', { needs: ['b'] }], ['d', {}]);
    const { scheduler, log, done, executor } = setup(specs, { a: [{ ms: 1000 }] });
    await vi.advanceTimersByTimeAsync(10);
    expect(scheduler.cancel(['b'])).toEqual({ cancelled: ['b'], stopping: [], unknown: [] });
    const outcome = await finish(done);
    expect(log.ended('b')).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by jobrun cancel',
    });
    expect(log.ended('c').status).toBe('skipped');
    expect(executor.starts).toEqual(['a', 'd']);
    expect(outcome.exitCode).toBe(1); // a skipped job counts, as ever
  });

  it('cancel: a job in its retry backoff ends cancelled at once, with no further attempt', async () => {
    const specs = jobs(['a', { retries: 3 }], ['b', {}]);
    const { scheduler, log, done, executor } = setup(specs, { a: [{ exit: 1 }] });
    await vi.advanceTimersByTimeAsync(20); // a failed and waits 1 s; b runs
    expect(scheduler.cancel(['a']).cancelled).toEqual(['a']);
    await finish(done);
    expect(log.ended('a')).toMatchObject({ status: 'cancelled' });
    expect(log.ended('a').attempts).toHaveLength(1);
    expect(executor.starts.filter((n) => n === 'a')).toHaveLength(1);
  });

  it('cancel: a running job is stopped (not at once), ends cancelled and is not retried', async () => {
    const specs = jobs(['a', { retries: 2 }], ['b', {}]);
    const { scheduler, log, done, executor } = setup(specs, { a: [{ ms: 10_000 }] });
    await vi.advanceTimersByTimeAsync(10);
    expect(scheduler.cancel(['a', 'zz'])).toEqual({
      cancelled: [],
      stopping: ['a'],
      unknown: ['zz'],
    });
    const outcome = await finish(done);
    expect(executor.stops).toEqual([{ name: 'a', immediate: false }]);
    expect(log.ended('a')).toMatchObject({
      status: 'cancelled',
      reason: 'cancelled by jobrun cancel',
    });
    expect(executor.starts).toEqual(['a', 'b']);
    expect(outcome.exitCode).toBe(0);
  });

  it('pause --pool holds that pool only; scale --pool raises its limit', async () => {
    const specs = jobs(['g1', { pool: 'gpu' }], ['g2', { pool: 'gpu' }], ['c1', {}], ['c2', {}]);
    const { scheduler, done, executor } = setup(
      specs,
      { c1: [{ ms: 100 }], c2: [{ ms: 100 }] },
      { workers: { min: 4, max: 4 }, pools: { gpu: { workers: 1 } } },
      (s) => {
        s.pause('gpu');
        s.scale({ pools: { gpu: 2 } });
      },
    );
    await vi.advanceTimersByTimeAsync(5_000); // the other pool ran and ended meanwhile
    expect(executor.starts).toEqual(['c1', 'c2']);
    expect(scheduler.steering()).toMatchObject({ pausedPools: ['gpu'], poolLimits: { gpu: 2 } });
    scheduler.unpause('gpu');
    await finish(done);
    expect(executor.peakByPool.get('gpu')).toBe(2);
  });

  it('pause, unpause and scale refuse a pool the run does not have, changing nothing', async () => {
    const specs = jobs(['g1', { pool: 'gpu' }], ['c1', {}]);
    const { scheduler, done, log } = setup(
      specs,
      {},
      { workers: { min: 1, max: 1 }, pools: { gpu: { workers: 1 } } },
      (s) => s.pause(),
    );
    expect(() => scheduler.pause('nosuch')).toThrow('this run has no pool "nosuch"');
    expect(() => scheduler.unpause('nosuch')).toThrow('this run has no pool "nosuch"');
    expect(() => scheduler.scale({ workers: 3, pools: { gpu: 2, tpu: 1, x: 1 } })).toThrow(
      'this run has no pool "tpu", "x"',
    );
    expect(scheduler.steering()).toEqual({ paused: true, pausedPools: [], poolLimits: {} });
    expect(log.of('workers_change')).toEqual([]); // all or nothing: -j 3 was refused too
    scheduler.unpause();
    await finish(done);
  });

  it('scale -j changes the worker count live; pause holds every start', async () => {
    const specs = jobs(['a', {}], ['b', {}], ['c', {}], ['d', {}]);
    const { scheduler, done, executor, log } = setup(specs, {}, {}, (s) => s.pause());
    await vi.advanceTimersByTimeAsync(1_000);
    expect(executor.starts).toEqual([]);
    expect(scheduler.scale({ workers: 3 })).toBe(true);
    scheduler.unpause();
    await finish(done);
    expect(executor.peak).toBe(3);
    expect(log.of('workers_change').map((e) => e.workers)).toEqual([3]);
  });

  it('drain lets running jobs finish and cancels the rest as drained; exit 0', async () => {
    const specs = jobs(['a', {}], ['b', {}], ['c', {}], ['d', { retries: 1 }]);
    const { scheduler, log, done } = setup(
      specs,
      { a: [{ ms: 500 }], b: [{ ms: 500 }] },
      {
        workers: { min: 2, max: 2 },
      },
    );
    await vi.advanceTimersByTimeAsync(10);
    scheduler.drain();
    const outcome = await finish(done);
    expect(log.of('run_stopping')).toMatchObject([{ reason: 'drained', running: 2 }]);
    expect(log.ended('a').status).toBe('succeeded');
    expect(log.ended('b').status).toBe('succeeded');
    expect(log.ended('c')).toMatchObject({ status: 'cancelled', reason: 'drained' });
    expect(log.ended('d')).toMatchObject({ status: 'cancelled', reason: 'drained' });
    expect(outcome.exitCode).toBe(0);
  });

  it('--graceful: the first signal lets running jobs finish within the grace; later ones stop them', async () => {
    const specs = jobs(['a', {}], ['b', {}], ['c', {}]);
    const { scheduler, log, done, executor } = setup(
      specs,
      { a: [{ ms: 1_000 }], b: [{ ms: 60_000 }] },
      { workers: { min: 2, max: 2 }, gracefulMs: 5_000 },
    );
    await vi.advanceTimersByTimeAsync(10);
    scheduler.interrupt('SIGTERM');
    const outcome = await finish(done);
    expect(log.of('run_stopping')).toMatchObject([{ running: 2, graceMs: 5_000 }]);
    expect(log.ended('a').status).toBe('succeeded'); // finished within the grace
    expect(log.ended('b').status).toBe('cancelled'); // stopped when it ran out
    expect(executor.stops).toEqual([{ name: 'b', immediate: false }]);
    expect(log.ended('c')).toMatchObject({ status: 'cancelled', reason: 'interrupted by SIGTERM' });
    expect(outcome.exitCode).toBe(143);
  });
});
