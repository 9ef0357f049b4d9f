import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseHalt } from '../../src/core/halt.js';
import { createStartGate } from '../../src/core/gates.js';
import type { ExecRequest } from '../../src/exec/types.js';
import { FakeExecutor, finish, job, jobs, startRun as setup } from './harness.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ordering', () => {
  it('starts higher priority first, file order among equals', async () => {
    const t = setup(
      jobs(['a'], ['b', { priority: 10 }], ['c', { priority: 5 }], ['d', { priority: 10 }]),
    );
    await finish(t.done);
    expect(t.executor.starts).toEqual(['b', 'd', 'c', 'a']);
  });

  it('takes the newest first among equals with order lifo', async () => {
    const t = setup(jobs(['a'], ['b'], ['c', { priority: 1 }], ['d']), {}, { order: 'lifo' });
    await finish(t.done);
    expect(t.executor.starts).toEqual(['c', 'd', 'b', 'a']);
  });

  it('never runs more jobs than workers, and uses them all', async () => {
    const specs = Array.from({ length: 20 }, (_, i) => job(`j${i}`, {}, i));
    const t = setup(specs, {}, { workers: { min: 3, max: 3 } });
    const outcome = await finish(t.done);
    expect(t.executor.peak).toBe(3);
    expect(outcome.summary.succeeded).toBe(20);
    expect(outcome.exitCode).toBe(0);
  });
});

describe('jobs that share a name (::: x x)', () => {
  const twins = () => [job('x', {}, 0), job('x', {}, 1), job('x', {}, 2)];

  it('runs each of them, and the run ends', async () => {
    const t = setup(twins(), {}, { workers: { min: 2, max: 2 } });
    const outcome = await finish(t.done);
    expect(t.executor.starts).toEqual(['x', 'x', 'x']);
    expect(outcome.summary).toMatchObject({ total: 3, succeeded: 3 });
    expect(t.log.of('job_end')).toHaveLength(3);
  });

  it('a stop cancels every one that had not started, and the run ends', async () => {
    const t = setup(twins(), { x: [{ ms: 500 }] }, { workers: { min: 1, max: 1 } });
    await vi.advanceTimersByTimeAsync(100);
    t.scheduler.interrupt('SIGTERM');
    const outcome = await finish(t.done);
    expect(outcome.summary).toMatchObject({ total: 3, cancelled: 3 });
    expect(t.log.of('job_end')).toHaveLength(3);
  });
});

describe('pools', () => {
  it('caps a pool inside the global worker count', async () => {
    const specs = jobs(
      ['c1', { pool: 'cpu' }],
      ['c2', { pool: 'cpu' }],
      ['c3', { pool: 'cpu' }],
      ['n1'],
      ['n2'],
      ['n3'],
    );
    const t = setup(specs, {}, { workers: { min: 3, max: 3 }, pools: { cpu: { workers: 1 } } });
    await finish(t.done);
    expect(t.executor.peakByPool.get('cpu')).toBe(1);
    expect(t.executor.peak).toBe(3);
    // the blocked pool does not hold back other jobs: n1..n3 start before c2
    expect(t.executor.starts.indexOf('n2')).toBeLessThan(t.executor.starts.indexOf('c2'));
  });
});

describe('needs', () => {
  it('starts a job only after all its needs succeeded', async () => {
    const specs = jobs(['c', { needs: ['a', 'b'], priority: 100 }], ['a'], ['b', { priority: -1 }]);
    const t = setup(specs, { a: [{ ms: 100 }], b: [{ ms: 300 }] }, { workers: { min: 4, max: 4 } });
    await finish(t.done);
    expect(t.executor.starts).toEqual(['a', 'b', 'c']);
    const c = t.log.ended('c');
    expect(c.startedAt).toBeGreaterThanOrEqual(t.log.ended('b').endedAt);
  });

  it('skips dependants of a failed job, transitively, with the reason', async () => {
    const specs = jobs(['a'], ['b', { needs: ['a'] }], ['c', { needs: ['b'] }], ['d']);
    const t = setup(specs, { a: [{ exit: 2 }] });
    const outcome = await finish(t.done);
    expect(t.log.ended('b')).toMatchObject({ status: 'skipped', reason: 'need "a" failed' });
    expect(t.log.ended('c')).toMatchObject({ status: 'skipped', reason: 'need "b" skipped' });
    expect(t.log.ended('d').status).toBe('succeeded');
    expect(t.executor.starts).toEqual(['a', 'd']);
    expect(outcome.exitCode).toBe(1);
    expect(outcome.summary).toMatchObject({ total: 4, failed: 1, skipped: 2, succeeded: 1 });
  });
});

describe('retries', () => {
  it('retries with exponential backoff and succeeds', async () => {
    const specs = [job('flaky', { retries: 3 })];
    const t = setup(specs, { flaky: [{ exit: 1 }, { exit: 1 }, { exit: 0 }] });
    const outcome = await finish(t.done);
    const retries = t.log.of('job_retry');
    expect(retries.map((r) => [r.nextAttempt, r.delayMs])).toEqual([
      [2, 1000],
      [3, 2000],
    ]);
    const record = t.log.ended('flaky');
    expect(record.status).toBe('succeeded');
    expect(record.attempts).toHaveLength(3);
    const [a1, a2] = record.attempts;
    expect(a2!.startedAt - (a1!.startedAt + a1!.durationMs)).toBeGreaterThanOrEqual(1000);
    expect(outcome.exitCode).toBe(0);
  });

  it('fails for good when retries run out; allow_failure keeps the run green', async () => {
    const t = setup(jobs(['bad', { retries: 1 }], ['lint', { allowFailure: true }]), {
      bad: [{ exit: 3 }],
      lint: [{ exit: 1 }],
    });
    const outcome = await finish(t.done);
    expect(t.log.ended('bad')).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(t.log.ended('bad').attempts).toHaveLength(2);
    expect(outcome.exitCode).toBe(1);

    const u = setup(jobs(['lint', { allowFailure: true }]), { lint: [{ exit: 1 }] });
    const green = await finish(u.done);
    expect(u.log.ended('lint').status).toBe('failed');
    expect(green.exitCode).toBe(0);
  });

  it('reports a timed-out attempt as timed_out', async () => {
    const t = setup(jobs(['slow']), { slow: [{ timedOut: true }] });
    const outcome = await finish(t.done);
    expect(t.log.ended('slow').status).toBe('timed_out');
    expect(outcome.exitCode).toBe(1);
  });

  it('resolves a relative timeout from the median of successes', async () => {
    const specs = jobs(['a', { timeout: { percent: 300 } }], ['b', { timeout: { percent: 300 } }]);
    const t = setup(specs, { a: [{ ms: 100 }] });
    await finish(t.done);
    expect(t.executor.requests[0]!.timeoutMs).toBeUndefined();
    expect(t.executor.requests[1]!.timeoutMs).toBe(300);
  });
});

describe('halt policies', () => {
  it('--fail-fast lets running jobs finish and cancels the rest', async () => {
    const specs = jobs(['bad'], ['long'], ['later1'], ['later2']);
    const t = setup(
      specs,
      { bad: [{ exit: 1, ms: 10 }], long: [{ ms: 500 }] },
      {
        workers: { min: 2, max: 2 },
        halt: parseHalt('soon,fail=1'),
      },
    );
    const outcome = await finish(t.done);
    expect(t.log.ended('long').status).toBe('succeeded');
    expect(t.log.ended('later1').status).toBe('cancelled');
    expect(t.log.ended('later2').status).toBe('cancelled');
    expect(outcome.halted).toBe('--halt soon,fail=1');
    expect(outcome.exitCode).toBe(1);
  });

  it('--halt now stops running jobs too', async () => {
    const specs = jobs(['bad'], ['long'], ['later']);
    const t = setup(
      specs,
      { bad: [{ exit: 1, ms: 10 }], long: [{ ms: 5000 }] },
      {
        workers: { min: 2, max: 2 },
        halt: parseHalt('now,fail=1'),
      },
    );
    await finish(t.done);
    expect(t.executor.stops).toEqual([{ name: 'long', immediate: false }]);
    expect(t.log.ended('long').status).toBe('cancelled');
    expect(t.log.ended('later').status).toBe('cancelled');
  });

  it('skips the dependants of the failure that halts, and cancels the rest', async () => {
    const specs = jobs(['bad'], ['after', { needs: ['bad'] }], ['other']);
    const t = setup(specs, { bad: [{ exit: 1 }] }, { halt: parseHalt('soon,fail=1') });
    await finish(t.done);
    expect(t.log.ended('after')).toMatchObject({ status: 'skipped', reason: 'need "bad" failed' });
    expect(t.log.ended('other')).toMatchObject({
      status: 'cancelled',
      reason: 'halted by --halt soon,fail=1',
    });
  });

  it('--halt soon,success=1 ends green after the first success', async () => {
    const specs = jobs(['a'], ['b'], ['c']);
    const t = setup(specs, {}, { halt: parseHalt('soon,success=1') });
    const outcome = await finish(t.done);
    expect(outcome.summary).toMatchObject({ succeeded: 1, cancelled: 2 });
    expect(outcome.exitCode).toBe(0);
  });

  it('fail=N% counts against the whole run', async () => {
    const specs = Array.from({ length: 10 }, (_, i) => job(`j${i}`, {}, i));
    const script = Object.fromEntries(specs.map((s) => [s.name, [{ exit: 1 }]]));
    const t = setup(specs, script, { halt: parseHalt('soon,fail=30%') });
    const outcome = await finish(t.done);
    expect(outcome.summary.failed).toBe(3);
    expect(outcome.summary.cancelled).toBe(7);
  });
});

describe('interrupts', () => {
  it('stops running jobs, cancels the rest, and exits 130; a second signal skips the grace', async () => {
    const specs = jobs(['a'], ['b'], ['c'], ['d', { needs: ['c'] }]);
    const executor = new FakeExecutor({ a: [{ ms: 100_000 }], b: [{ ms: 100_000 }] });
    const { log, scheduler, done } = setup(
      specs,
      {},
      {
        workers: { min: 2, max: 2 },
        executor: {
          start: (req: ExecRequest) => {
            const handle = executor.start(req);
            // the job ignores SIGTERM: only an immediate stop ends it
            return {
              ...handle,
              stop: (immediate = false) => (immediate ? handle.stop(true) : undefined),
            };
          },
        },
      },
    );
    await vi.advanceTimersByTimeAsync(50);
    scheduler.interrupt('SIGINT');
    await vi.advanceTimersByTimeAsync(50);
    expect(log.of('run_end')).toHaveLength(0);
    scheduler.interrupt('SIGINT');
    const outcome = await finish(done);
    expect(outcome.exitCode).toBe(130);
    expect(outcome.summary).toMatchObject({ total: 4, cancelled: 4 });
    expect(log.ended('a').attempts).toHaveLength(1);
    expect(log.ended('c').reason).toBe('interrupted by SIGINT');
    expect(log.of('job_end')).toHaveLength(4);
  });
});

describe('dynamic workers and gates', () => {
  it('grows with queue depth and shrinks after idling', async () => {
    const specs = Array.from({ length: 8 }, (_, i) => job(`j${i}`, {}, i));
    const t = setup(specs, {}, { workers: { min: 1, max: 4 }, idleMs: 500 });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.executor.running).toBe(4);
    await finish(t.done);
    expect(t.executor.peak).toBe(4);
    const changes = t.log.of('workers_change').map((e) => e.workers);
    expect(changes[0]).toBe(4);
  });

  it('shrinks back to min when queue stays empty', async () => {
    const specs = jobs(['a'], ['b'], ['c'], ['late', { needs: ['a'] }]);
    const t = setup(
      specs,
      { a: [{ ms: 2000 }], b: [{ ms: 10 }], c: [{ ms: 10 }] },
      {
        workers: { min: 1, max: 3 },
        idleMs: 500,
      },
    );
    await finish(t.done);
    const changes = t.log.of('workers_change').map((e) => e.workers);
    expect(changes).toEqual([3, 1]);
  });

  it('--delay spaces job starts', async () => {
    const specs = jobs(['a'], ['b'], ['c']);
    const t = setup(
      specs,
      {},
      { workers: { min: 3, max: 3 }, gate: createStartGate({ delayMs: 200 }) },
    );
    await finish(t.done);
    const starts = t.log.of('job_start').map((e) => e.time);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(200);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(200);
  });

  it('--max-load holds starts while the load is high', async () => {
    let load = 10;
    const gate = createStartGate({ maxLoad: 2 }, { loadavg1: () => load, freemem: () => 1e12 });
    const t = setup(jobs(['a']), {}, { gate });
    await vi.advanceTimersByTimeAsync(3000);
    expect(t.executor.starts).toEqual([]);
    load = 1;
    await finish(t.done);
    expect(t.executor.starts).toEqual(['a']);
  });
});

describe('streamed input', () => {
  it('pulls at most max-queue jobs ahead of the workers', async () => {
    let pulled = 0;
    let maxAhead = 0;
    const executor = new FakeExecutor({});
    async function* source() {
      for (let i = 0; i < 200; i++) {
        pulled++;
        maxAhead = Math.max(maxAhead, pulled - executor.starts.length);
        yield job(`line${i}`, {}, i);
      }
    }
    const { log, done } = setup(
      source(),
      {},
      {
        workers: { min: 2, max: 2 },
        executor,
        maxQueue: 5,
      },
    );
    const outcome = await finish(done);
    expect(outcome.summary.succeeded).toBe(200);
    expect(maxAhead).toBeLessThanOrEqual(5 + 1);
    expect(log.of('run_start')[0]!.total).toBeNull();
  });
});

describe('selection and resume', () => {
  it('skips jobs left out by --only without failing the run', async () => {
    const specs = jobs(['a'], ['b', { needs: ['a'] }], ['c'], ['d', { needs: ['c'] }]);
    const keep = new Set(['a', 'b']);
    const t = setup(specs, {}, { selected: (j) => keep.has(j.name) });
    const outcome = await finish(t.done);
    expect(t.executor.starts).toEqual(['a', 'b']);
    expect(t.log.ended('d')).toMatchObject({ status: 'skipped', excluded: true });
    expect(outcome.exitCode).toBe(0);
  });

  it('counts jobs done in an earlier run as succeeded without running them', async () => {
    const specs = jobs(['a'], ['b', { needs: ['a'] }]);
    const t = setup(specs, {}, { alreadyDone: (j) => j.name === 'a' });
    await finish(t.done);
    expect(t.executor.starts).toEqual(['b']);
    expect(t.log.ended('a')).toMatchObject({ status: 'succeeded', attempts: [] });
  });
});

describe('halt percentages count the jobs that will run', () => {
  const failing = (n: number) => Object.fromEntries(range(n).map((i) => [`j${i}`, [{ exit: 1 }]]));
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const tenJobs = () => range(10).map((i) => job(`j${i}`, {}, i));

  it('leaves out jobs not picked by --only', async () => {
    const keep = new Set(['j0', 'j1', 'j2', 'j3']);
    const t = setup(
      tenJobs(),
      { j0: [{ exit: 1 }] },
      {
        halt: parseHalt('soon,fail=25%'),
        selected: (j) => keep.has(j.name),
      },
    );
    const outcome = await finish(t.done);
    expect(outcome.halted).toBe('--halt soon,fail=25%');
    expect(t.executor.starts).toEqual(['j0']);
  });

  it('leaves out jobs done in an earlier run', async () => {
    const t = setup(
      tenJobs(),
      { j0: [{ exit: 1 }] },
      {
        halt: parseHalt('soon,fail=25%'),
        alreadyDone: (j) => j.index >= 4,
      },
    );
    const outcome = await finish(t.done);
    expect(outcome.halted).toBe('--halt soon,fail=25%');
    expect(t.executor.starts).toEqual(['j0']);
  });

  it('on streamed input, divides by the jobs seen, not the jobs ended', async () => {
    let pulled = 0;
    async function* source() {
      for (const spec of tenJobs()) {
        pulled++;
        yield spec;
      }
    }
    const t = setup(
      source(),
      { j0: [{ exit: 1 }] },
      {
        halt: parseHalt('soon,fail=60%'),
        maxQueue: 1,
      },
    );
    const outcome = await finish(t.done);
    expect(outcome.halted).toBeUndefined();
    expect(pulled).toBe(10);
    expect(outcome.summary).toMatchObject({ failed: 1, succeeded: 9 });
  });

  it('halts at exactly 29 % of 100 failing jobs, not one job late', async () => {
    const specs = range(100).map((i) => job(`j${i}`, {}, i));
    const t = setup(specs, failing(100), { halt: parseHalt('soon,fail=29%') });
    const outcome = await finish(t.done);
    expect(outcome.summary).toMatchObject({ failed: 29, cancelled: 71 });
  });
});

describe('waits keep the earliest deadline', () => {
  it('-j 2 --delay 1000: a job arriving at 100 ms starts at 1,000 ms', async () => {
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    async function* source() {
      yield job('first', {}, 0);
      await sleep(100);
      yield job('second', {}, 1);
    }
    const t0 = Date.now();
    const t = setup(
      source(),
      {},
      {
        workers: { min: 2, max: 2 },
        gate: createStartGate({ delayMs: 1000 }),
      },
    );
    await finish(t.done);
    const second = t.log.of('job_start').find((e) => e.name === 'second')!;
    expect(second.time - t0).toBeGreaterThanOrEqual(1000);
    expect(second.time - t0).toBeLessThan(1100);
  });
});

describe('the feeder', () => {
  it('reads the next line as soon as a queued job is taken, not when one ends', async () => {
    let pulled = 0;
    async function* source() {
      for (let i = 0; i < 6; i++) {
        pulled++;
        yield job(`l${i}`, {}, i);
      }
    }
    const slow = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`l${i}`, [{ ms: 1000 }]]));
    const t = setup(
      source(),
      { ...slow, l0: [{ ms: 100 }] },
      {
        workers: { min: 2, max: 2 },
        maxQueue: 1,
      },
    );
    await vi.advanceTimersByTimeAsync(50);
    expect(pulled).toBe(3); // two running, one waiting
    await vi.advanceTimersByTimeAsync(100);
    // l0 ended and l2 was taken from the queue: the feeder refills it at once
    expect(t.executor.starts).toEqual(['l0', 'l1', 'l2']);
    expect(pulled).toBe(4);
    await finish(t.done);
  });
});
