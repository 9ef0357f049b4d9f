import fc from 'fast-check';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { parseHalt } from '../../src/core/halt.js';
import { Scheduler } from '../../src/core/scheduler.js';
import { QUEUE_DEPTH } from '../../src/exec/spawner-process.js';
import { EventLog, FakeExecutor, QueueingFakeExecutor, job, type Step } from './harness.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** The first reliability promise: every job ends in exactly one final state. */
it('ends every job exactly once, whatever the graph, outcomes and policies', () =>
  endsEveryJobOnce());

/** The same with a job queued behind each running one. */
it('ends every job exactly once with jobs queued ahead, within workers and pools', () =>
  endsEveryJobOnce(1));

/** The same with chains of jobs queued behind each running one, as the spawner's queue holds. */
it('ends every job exactly once with chains of jobs queued ahead', () => endsEveryJobOnce(3));

/** And as deep as the spawner queues them, with enough jobs for such chains to form. */
it('ends every job exactly once with chains as deep as the spawner allows', () =>
  endsEveryJobOnce(QUEUE_DEPTH, 3 * QUEUE_DEPTH));

/** `depth`: how many jobs the executor queues behind a running one (0: none); up to `most` jobs. */
async function endsEveryJobOnce(depth = 0, most = 12): Promise<void> {
  const queueing = depth > 0;
  let queuedAhead = 0;
  let deepest = 0;
  // long chains form only where few jobs fail, overtake or wait for others: such runs are drawn more
  const long = depth > 4;
  const jobArb = fc.record({
    priority: long ? fc.constantFrom(0, 0, 0, 0, 1) : fc.integer({ min: -2, max: 2 }),
    retries: fc.integer({ min: 0, max: 2 }),
    pool: fc.constantFrom(undefined, 'p'),
    allowFailure: fc.boolean(),
    steps: fc.array(
      fc.record({
        ms: fc.integer({ min: 1, max: 300 }),
        exit: long ? fc.constantFrom(0, 0, 0, 0, 0, 0, 0, 1) : fc.constantFrom(0, 0, 1),
        timedOut: fc.constantFrom(...Array<boolean>(long ? 6 : 4).fill(false), true),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    needBits: fc.array(long ? fc.constantFrom(false, false, false, true) : fc.boolean(), {
      maxLength: 6,
    }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.array(jobArb, { minLength: long ? 2 * depth : 1, maxLength: most }),
      fc.integer({ min: 1, max: 4 }),
      fc.constantFrom(undefined, 'soon,fail=1', 'now,fail=2', 'soon,fail=50%'),
      fc.option(fc.integer({ min: 0, max: 500 })),
      fc.array(fc.boolean(), { maxLength: most }),
      async (list, workers, halt, interruptAt, leftOut) => {
        // needs only point backwards, so the graph is acyclic
        const specs = list.map((j, i) =>
          job(
            `j${i}`,
            {
              priority: j.priority,
              retries: j.retries,
              pool: j.pool,
              allowFailure: j.allowFailure,
              backoff: { delayMs: 50, factor: 2, maxMs: 200, jitter: true },
              needs: j.needBits.map((b, k) => (b && k < i ? `j${k}` : '')).filter(Boolean),
            },
            i,
          ),
        );
        // --only: a job left out drags its dependants out with it, as selectJobs guarantees
        const out = new Set<string>();
        for (const s of specs) {
          if (leftOut[s.index] || s.needs.some((n) => out.has(n))) out.add(s.name);
        }
        const script: Record<string, Step[]> = Object.fromEntries(
          list.map((j, i) => [`j${i}`, j.steps]),
        );
        const log = new EventLog();
        const executor = queueing ? new QueueingFakeExecutor(script) : new FakeExecutor(script);
        if (executor instanceof QueueingFakeExecutor) executor.depth = depth;
        const scheduler = new Scheduler({
          runId: 'prop',
          manifestPath: null,
          logDir: '/tmp',
          // a scaling worker count queues nothing ahead
          workers: { min: queueing ? workers : 1, max: workers },
          pools: { p: { workers: 1 } },
          order: 'fifo',
          executor,
          emit: log.emit,
          halt: halt ? parseHalt(halt) : undefined,
          selected: (j) => !out.has(j.name),
        });
        const done = scheduler.run(specs);
        let settled = false;
        void done.then(() => (settled = true));
        // enough time for every job to run all its steps one after the other
        for (let t = 0; t < 1500 * most && !settled; t += 25) {
          if (interruptAt !== null && t === Math.floor(interruptAt / 25) * 25)
            scheduler.interrupt('SIGTERM');
          await vi.advanceTimersByTimeAsync(25);
        }
        expect(settled).toBe(true);
        const outcome = await done;
        const ends = log.of('job_end').map((e) => e.job.name);
        expect(new Set(ends).size).toBe(ends.length);
        expect(ends.sort()).toEqual(specs.map((s) => s.name).sort());
        const s = outcome.summary;
        expect(s.succeeded + s.failed + s.timed_out + s.skipped + s.cancelled).toBe(specs.length);
        expect(executor.running).toBe(0);
        if (executor instanceof QueueingFakeExecutor) {
          queuedAhead += executor.queued;
          deepest = Math.max(deepest, executor.peakDepth);
        }
        expect(executor.peak).toBeLessThanOrEqual(workers);
        expect(executor.peakByPool.get('p') ?? 0).toBeLessThanOrEqual(1);
        for (const e of log.of('job_end')) {
          // a job never starts before its needs succeeded
          for (const need of e.job.needs) {
            if (e.job.attempts.length > 0) expect(log.ended(need).status).toBe('succeeded');
          }
        }
        expect(log.of('run_end')).toHaveLength(1);
        for (const name of out)
          expect(log.ended(name)).toMatchObject({ status: 'skipped', excluded: true });
      },
    ),
    { numRuns: 150 },
  );
  // the property did exercise the queue
  if (queueing) expect(queuedAhead).toBeGreaterThan(20);
  // and chains, never deeper than the executor allows
  if (queueing) expect(deepest).toBeLessThanOrEqual(depth);
  if (depth > 1) expect(deepest).toBeGreaterThan(1);
  // twelve deep: chains well beyond the few a shorter queue allows
  if (long) expect(deepest).toBeGreaterThan(4);
}
