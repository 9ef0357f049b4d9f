import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { waitFor } from './helpers.js';
import { Batch, byName } from './operate-helpers.js';
import { killWorkers, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/operate-redis.test.ts');

describe.runIf(enabled)('a run on Redis, from another terminal', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });
  // a worker runs jobs in its own folder: each case's workers serve that case alone
  afterEach(async () => {
    await killWorkers();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  /** Runs jobs a, b and c on one worker of one slot; returns once a runs and the run registered. */
  async function running(b: Batch): Promise<void> {
    await startWorker(redis.url, ['-j', '1'], b.dir);
    void b.start(['--backend', redis.url, '--report', 'r.json'], ['a', 'b', 'c']);
    await b.started('a');
    await waitFor(() => b.runFiles().length === 2, 10_000, 'the run to register');
  }

  it('is listed by ps and watched; scaled; drain lets the running job finish and cancels the rest', async () => {
    const b = new Batch();
    try {
      await running(b);
      const rows = JSON.parse((await b.ctl(['ps', '--json'])).stdout) as Array<
        Record<string, unknown>
      >;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ pid: b.child?.pid, total: 3 });
      const watch = b.follow(['watch']);
      await waitFor(() => watch.seen().includes('jobrun: 3 jobs'), 30_000, 'the watcher');
      // scaled: the run's limit across its workers (see operate-redis-remote.test.ts)
      expect((await b.ctl(['scale', '-j', '2'])).code).toBe(0);
      const after = JSON.parse((await b.ctl(['ps', '--json'])).stdout) as Array<
        Record<string, unknown>
      >;
      expect(after[0]).toMatchObject({ workers: 2 });
      const nope = await b.ctl(['scale', '--pool', 'nope=1']);
      expect(nope.code).toBe(1);
      expect(nope.stderr).toMatch(/could not scale: this run has no pool "nope"/);
      const paused = await b.ctl(['pause', '--pool', 'nope']);
      expect(paused.code).toBe(1);
      expect(paused.stderr).toMatch(/could not pause: this run has no pool "nope"/);
      expect((await b.ctl(['drain'])).code).toBe(0);
      b.release();
      expect((await b.result)?.code).toBe(0);
      const w = await watch.result;
      expect(w.code).toBe(0);
      expect(w.stderr).toMatch(/3 jobs: 1 succeeded, 2 cancelled/);
      const jobs = byName(b.report());
      expect(jobs.a).toMatchObject({ status: 'succeeded' });
      expect(jobs.b).toMatchObject({ status: 'cancelled', reason: 'drained' });
      expect(jobs.c).toMatchObject({ status: 'cancelled', reason: 'drained' });
      expect(b.count('start')).toBe(1);
    } finally {
      await b.finish();
    }
  });

  it('jobrun pause holds the jobs already handed to the workers: none starts until unpause, a cancelled one never', async () => {
    const b = new Batch();
    try {
      const worker = await startWorker(redis.url, ['-j', '1'], b.dir);
      void b.start(['--backend', redis.url, '--report', 'r.json'], ['a', 'b', 'c']);
      await b.started('a'); // b and c wait in Redis for the worker's one slot
      await waitFor(() => b.runFiles().length === 2, 10_000, 'the run to register');
      expect((await b.ctl(['pause'])).code).toBe(0);
      b.release('a'); // its slot falls free: the worker looks at b (or c) next
      const held = /hold [bc]: its run is paused/;
      await waitFor(
        () => held.test(worker.stderr()) || b.count('start') > 1,
        30_000,
        'the worker to hold the next job',
      );
      expect(b.events()).toEqual(['start a', 'end a']);
      const rows = JSON.parse((await b.ctl(['ps', '--json'])).stdout) as Array<
        Record<string, unknown>
      >;
      expect(rows[0]).toMatchObject({ paused: true });
      // the held job cancelled: dropped on the worker, said as that job's, not the run's
      const name = held.exec(worker.stderr())![0].slice('hold '.length, 'hold '.length + 1);
      const other = name === 'b' ? 'c' : 'b';
      expect((await b.ctl(['cancel', name])).code).toBe(0);
      await waitFor(() => worker.stderr().includes(`skip ${name}: `), 30_000, 'the drop');
      expect(worker.stderr()).toContain(`skip ${name}: its run called it off`);
      expect((await b.ctl(['unpause'])).code).toBe(0);
      await b.started(other);
      b.release();
      expect((await b.result)?.code).toBe(0);
      const jobs = byName(b.report());
      for (const job of ['a', other]) expect(jobs[job]).toMatchObject({ status: 'succeeded' });
      expect(jobs[name]).toMatchObject({
        status: 'cancelled',
        reason: 'cancelled by jobrun cancel',
      });
      expect(b.count('start')).toBe(2);
    } finally {
      await b.finish();
    }
  });

  it('jobrun cancel stops that running job alone: the run’s other jobs still start on the workers', async () => {
    const b = new Batch();
    try {
      await running(b);
      expect((await b.ctl(['cancel', 'a'])).code).toBe(0);
      await b.started('b');
      b.release('b');
      await b.started('c');
      b.release('c');
      // called off by its operator: no failure of the run
      expect((await b.result)?.code).toBe(0);
      const jobs = byName(b.report());
      expect(jobs.a).toMatchObject({ status: 'cancelled', reason: 'cancelled by jobrun cancel' });
      expect(jobs.b).toMatchObject({ status: 'succeeded' });
      expect(jobs.c).toMatchObject({ status: 'succeeded' });
    } finally {
      await b.finish();
    }
  });
});
