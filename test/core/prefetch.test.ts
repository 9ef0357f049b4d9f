import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseHalt } from '../../src/core/halt.js';
import type { SchedulerOptions } from '../../src/core/scheduler.js';
import { createHelperExecutor } from '../../src/exec/helper-executor.js';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import type { Executor } from '../../src/exec/types.js';
import type { JobSpec } from '../../src/model/job.js';
import { readOrEmpty, tempDirs, waitFor } from '../exec/helpers.js';
import { job, startScheduler } from './harness.js';

// The queue per slot with real spawners: a slot's next jobs wait in its spawner and
// each starts as the one before is reaped; a stop, a higher priority or a
// failure keep it from starting.

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/** A job of `dir` that notes its name (a, b, c: file order) in `order`, then runs `then`. */
function step(dir: string, name: string, then = 'true', extra: Partial<JobSpec> = {}): JobSpec {
  const index = name.charCodeAt(0) - 'a'.charCodeAt(0);
  return job(name, { command: `echo ${name} >> order; ${then}`, cwd: dir, ...extra }, index);
}

/** Waits (bounded: 20 s) for the file `go` in its folder. */
const untilGo = 'i=0; until [ -f go ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done';

function run(
  dir: string,
  source: JobSpec[] | AsyncIterable<JobSpec>,
  options: Partial<SchedulerOptions> = {},
) {
  const helper = createHelperExecutor({ fallback: createLocalExecutor(), strict: true });
  /** The jobs queued behind another, in order. */
  const queued: string[] = [];
  const executor: Executor = {
    start: (request) => helper.start(request),
    startAfter(request, after) {
      const attempt = helper.startAfter?.(request, after);
      if (attempt !== undefined) queued.push(request.job.name);
      return attempt;
    },
  };
  const { log, scheduler, done } = startScheduler(source, executor, {
    runId: 'prefetch',
    logDir: join(dir, 'logs'),
    ...options,
  });
  return { log, scheduler, queued, done };
}

const order = (dir: string) => readOrEmpty(join(dir, 'order')).split('\n').filter(Boolean);

describe('prefetch: the next job waits in the spawner', () => {
  it('starts as the running job is reaped, without a round trip through jobrun', async () => {
    const dir = dirs.make();
    const source = [step(dir, 'a', 'sleep 0.2'), step(dir, 'b'), step(dir, 'c')];
    let startedWhileBlocked = false;
    const t = run(dir, source, {
      emit: (type, payload) => {
        if (type !== 'job_start' || (payload as { name: string }).name !== 'a') return;
        // jobrun's thread is busy from a's start to well past its end: b starts anyway
        const deadline = Date.now() + 10_000;
        while (Date.now() < deadline && !order(dir).includes('b')) {
          /* spin: no event is handled meanwhile */
        }
        startedWhileBlocked = order(dir).includes('b');
      },
    });
    const outcome = await t.done;
    expect(t.queued[0]).toBe('b');
    expect(startedWhileBlocked).toBe(true);
    expect(outcome.summary).toMatchObject({ total: 3, succeeded: 3 });
    expect(order(dir)).toEqual(['a', 'b', 'c']);
  });

  it('a queued job never starts after a stop, even when the running one exits 0 on SIGTERM', async () => {
    const dir = dirs.make();
    const source = [
      step(dir, 'a', `trap "exit 0" TERM; ${untilGo}`),
      step(dir, 'b'),
      step(dir, 'c'),
    ];
    const t = run(dir, source);
    expect(await waitFor(() => order(dir).includes('a') && t.queued.includes('b'))).toBe(true);
    t.scheduler.interrupt('SIGINT');
    const outcome = await t.done;
    expect(order(dir)).toEqual(['a']);
    // a too: the stop ended it, though it exited 0
    expect(outcome.summary).toMatchObject({ total: 3, cancelled: 3 });
    expect(t.log.ended('a').attempts).toHaveLength(1);
    for (const name of ['b', 'c']) {
      expect(t.log.ended(name)).toMatchObject({ status: 'cancelled', attempts: [] });
    }
    expect(t.log.of('job_start').map((e) => e.name)).toEqual(['a']);
  });

  it('a job that arrives with a higher priority withdraws the queued one and goes first', async () => {
    const dir = dirs.make();
    let release!: () => void;
    const later = new Promise<void>((resolve) => (release = resolve));
    async function* source() {
      yield step(dir, 'a', untilGo);
      yield step(dir, 'b');
      await later; // b waits in the spawner behind a by now
      yield step(dir, 'c', 'true', { priority: 5 });
    }
    const t = run(dir, source());
    expect(await waitFor(() => order(dir).includes('a') && t.queued.includes('b'))).toBe(true);
    release();
    // c withdraws b, which goes back to the ready queue; c waits behind a instead
    expect(await waitFor(() => t.queued.includes('c'))).toBe(true);
    writeFileSync(join(dir, 'go'), '');
    const outcome = await t.done;
    expect(outcome.summary).toMatchObject({ total: 3, succeeded: 3 });
    expect(order(dir)).toEqual(['a', 'c', 'b']);
    expect(t.log.of('job_start').map((e) => e.name)).toEqual(['a', 'c', 'b']);
    expect(t.queued.slice(0, 2)).toEqual(['b', 'c']);
  });

  it('a slot that falls free takes back a job queued behind a long one, which starts there', async () => {
    const dir = dirs.make();
    // a waits for c (up to 8 s); b ends first, with c queued behind a by then
    const untilC = 'i=0; until [ -f go ] || [ $i -ge 400 ]; do sleep 0.02; i=$((i+1)); done';
    const source = [
      step(dir, 'a', untilC),
      step(dir, 'b', 'sleep 0.3'),
      step(dir, 'c', 'touch go'),
    ];
    const t = run(dir, source, { workers: { min: 2, max: 2 } });
    await t.done;
    const ends = t.log
      .of('job_end')
      .map((e) => [
        e.job.name,
        e.job.status,
        e.job.reason ?? '',
        e.job.attempts.map((a) => a.error ?? a.exitCode),
      ]);
    expect(ends.sort()).toEqual([
      ['a', 'succeeded', '', [0]],
      ['b', 'succeeded', '', [0]],
      ['c', 'succeeded', '', [0]],
    ]);
    expect(t.queued).toEqual(['c']); // c did wait in a's spawner, behind a
    // c started in b's slot, not after a's 8 s: a saw its file
    expect(t.log.ended('a')!.attempts[0]!.durationMs).toBeLessThan(6_000);
    const slots = t.log.of('job_start').map((e) => [e.name, e.worker]);
    expect(slots).toContainEqual(['c', slots.find(([name]) => name === 'b')![1]]);
  });

  it('loses no job when failures hand back chains that are queued again before the rest came back', async () => {
    // two slots, a job in five fails: each failure hands back the jobs waiting behind it
    // one by one, and the first of them is queued again while the others are on their way
    const dir = dirs.make();
    const source = Array.from({ length: 20 }, (_, i) =>
      job(`j${i}`, { command: `exit ${i % 5 === 0 ? 1 : 0}`, cwd: dir }, i),
    );
    const t = run(dir, source, { workers: { min: 2, max: 2 } });
    const outcome = await t.done;
    expect(outcome.summary).toMatchObject({ total: 20, succeeded: 16, failed: 4 });
    const ends = t.log.of('job_end').map((e) => e.job.name);
    expect(new Set(ends).size).toBe(20); // each job ended, once
    expect(ends).toHaveLength(20);
    expect(t.queued.length).toBeGreaterThan(2); // and jobs did wait in the spawners
  });

  it('after a failure the queued jobs are handed back: --halt now,fail=1 starts nothing more', async () => {
    const dir = dirs.make();
    const source = [step(dir, 'a', 'sleep 0.2; exit 1'), step(dir, 'b'), step(dir, 'c')];
    const t = run(dir, source, { halt: parseHalt('now,fail=1') });
    const outcome = await t.done;
    expect(order(dir)).toEqual(['a']);
    expect(outcome.summary).toMatchObject({ total: 3, failed: 1, cancelled: 2 });
    expect(t.log.ended('b')).toMatchObject({ status: 'cancelled', attempts: [] });
    expect(t.log.ended('c')).toMatchObject({ status: 'cancelled', attempts: [] });
    expect(t.queued).toEqual(['b', 'c']); // both did wait in the spawner, in order
  });
});
