import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { monitorRedis, requireRedisOrWarn } from '../backends/redis-server.js';
import { jobrun, type Result } from './helpers.js';
import { Batch, byName } from './operate-helpers.js';
import { elsewhere, redisWithPassword } from './redis-elsewhere.js';
import { killWorkers, manifest, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/operate-redis-remote.test.ts');

/** The password of this file's Redis: it must never show in any output. */
const PASSWORD = 'S3cr3t-7f1c';

/** Polls an asynchronous check every 100 ms, for at most `ms`. */
async function until<T>(check: () => Promise<T | undefined>, ms: number, what: string) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits (30 s at most) until `check` holds of the files a batch wrote. */
function when(check: () => boolean, what: string): Promise<true> {
  return until(() => Promise.resolve(check() || undefined), 30_000, what);
}

type Row = Record<string, unknown>;

async function listed(url: string): Promise<Row[]> {
  const ps = await elsewhere(url, ['ps', '--backend', 'redis', '--json']);
  expect(ps.code, ps.stderr).toBe(0);
  return JSON.parse(ps.stdout) as Row[];
}

/** Waits until `ps --backend` lists one run for which `ok` holds; returns it. */
function listedWhen(url: string, ok: (row: Row) => boolean, what: string): Promise<Row> {
  return until(
    async () => {
      const [row] = await listed(url);
      return row && ok(row) ? row : undefined;
    },
    30_000,
    what,
  );
}

/** The most jobs the events file shows running at once (counted from event `from` on). */
function mostAtOnce(events: string[], from = 0): number {
  let running = 0;
  let most = 0;
  events.forEach((e, i) => {
    running += e.startsWith('start ') ? 1 : e.startsWith('end ') ? -1 : 0;
    if (i >= from) most = Math.max(most, running);
  });
  return most;
}

/**
 * What both scale tests do: the jobs run one at a time (the first ends, the next
 * starts, never two at once), then `jobrun scale --backend redis <change>` from another
 * machine, then a wait until `n` jobs run at once.
 */
async function oneAtATimeThenScale(b: Batch, url: string, change: string[], n: number) {
  const first = await until(
    () => Promise.resolve(b.events()[0]?.replace('start ', '')),
    30_000,
    'a first job',
  );
  b.release(first);
  await when(() => b.count('start') >= 2, 'the next job after the first ended');
  expect(mostAtOnce(b.events())).toBe(1);
  const scaled = await elsewhere(url, ['scale', '--backend', 'redis', ...change]);
  expect(scaled.code, scaled.stderr).toBe(0);
  await when(() => b.count('start') - b.count('end') >= n, `${n} jobs at once`);
}

describe.runIf(enabled)('a run on Redis, steered from another machine through Redis', () => {
  const redisUrl = redisWithPassword(PASSWORD);
  let url = '';
  beforeAll(() => {
    url = redisUrl();
  });

  it('ps --backend lists the run with its host and counts, and never prints the password', async () => {
    const b = new Batch();
    try {
      // the URL on the command line: the run's listed command line must not carry it
      void b.start(['--backend', url, '--report', 'r.json'], ['a', 'b', 'c']);
      // the run lists itself as it starts, before its jobs are queued: wait for the counts
      const row = await listedWhen(
        url,
        (r) => r.total === 3 && r.queued === 3,
        'the run to be listed in Redis with its jobs queued',
      );
      expect(row).toMatchObject({
        pid: b.child?.pid,
        cwd: fs.realpathSync(b.dir),
        total: 3,
        queued: 3,
        running: 0,
        done: { succeeded: 0 },
      });
      expect(typeof row.host).toBe('string');
      expect(String(row.what)).toContain('--backend redis://:***@127.0.0.1');
      const table = await elsewhere(url, ['ps', '--backend', 'redis']);
      expect(table.stdout).toMatch(/^RUN\s+HOST\s+PID\s+STARTED\s+PROGRESS/);
      expect(table.stdout).toContain(`0/3 done, running 0, queued 3`);
      // that machine has no run of its own: the listing came through Redis
      expect((await elsewhere(url, ['ps'])).stderr).toContain('no live runs');
      const wrong = await elsewhere(url.replace(PASSWORD, `nope-${PASSWORD}`), [
        'ps',
        '--backend',
        'redis',
      ]);
      expect(wrong.code).toBe(2);
      for (const out of [table, wrong]) expect(out.stdout + out.stderr).not.toContain(PASSWORD);
    } finally {
      b.child?.kill('SIGINT');
      await b.finish();
    }
  }, 120_000);

  it('scale -j through Redis raises the jobs running at once across two workers from 1 to 3', async () => {
    const b = new Batch();
    try {
      const names = ['a', 'b', 'c', 'd', 'e', 'f'];
      void b.start(['--backend', 'redis', '--report', 'r.json'], names);
      await listedWhen(url, (r) => r.total === 6, 'the run to start');
      const one = await elsewhere(url, ['scale', '--backend', 'redis', '-j', '1']);
      expect(one.code, one.stderr).toBe(0);
      // four slots in all: without the run's limit, four jobs would start at once
      for (let i = 0; i < 2; i++) await startWorker(undefined, ['-j', '2'], b.dir);
      await oneAtATimeThenScale(b, url, ['-j', '3'], 3);
      await listedWhen(url, (r) => r.workers === 3 && r.running === 3, 'the new limit in ps');
      b.release();
      const run = await b.result;
      expect(run?.code, run?.stderr).toBe(0);
      expect(b.count('end')).toBe(6);
      expect(mostAtOnce(b.events())).toBe(3);
    } finally {
      await b.finish();
      await killWorkers();
    }
  }, 120_000);

  it('a run without a limit takes no lease: no job touches the run-limit keys', async () => {
    const b = new Batch();
    const { client, monitor } = await monitorRedis(url);
    const touched: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => {
      // the scripts are given the keys' names; what counts is a command acting on them
      if (!/^eval/i.test(args[0] ?? '') && args.some((a) => /meta:(leases|unleased):/.test(a)))
        touched.push(args.join(' '));
    });
    try {
      for (let i = 0; i < 2; i++) await startWorker(undefined, ['-j', '2'], b.dir);
      b.release();
      const run = await b.start(['--backend', 'redis'], ['a', 'b', 'c', 'd', 'e', 'f']);
      expect(run.code, run.stderr).toBe(0);
      expect(b.count('end')).toBe(6);
      // only the run's own clean-up at its start and end, whatever its number of jobs
      expect(touched.filter((c) => !c.startsWith('del '))).toEqual([]);
    } finally {
      monitor.disconnect();
      client.disconnect();
      await b.finish();
      await killWorkers();
    }
  }, 120_000);

  it('scale -j set while more jobs run than it allows: no job starts until they are under it', async () => {
    const b = new Batch();
    try {
      for (let i = 0; i < 2; i++) await startWorker(undefined, ['-j', '2'], b.dir);
      const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
      void b.start(['--backend', 'redis', '--report', 'r.json'], names);
      // four slots in all, four jobs running without a lease
      await when(() => b.count('start') === 4, 'four jobs');
      const before = b.events().map((e) => e.replace('start ', ''));
      const two = await elsewhere(url, ['scale', '--backend', 'redis', '-j', '2']);
      expect(two.code, two.stderr).toBe(0);
      // one ends: three still run, over the limit of two, so its slot stays empty
      b.release(before[0]);
      await when(() => b.count('end') === 1, 'an end');
      await listedWhen(url, (r) => r.workers === 2, 'the new limit in ps');
      b.release(before[1]);
      b.release(before[2]);
      await when(() => b.count('start') >= 5, 'a fifth job');
      b.release();
      const run = await b.result;
      expect(run?.code, run?.stderr).toBe(0);
      expect(b.count('end')).toBe(7);
      // from the first start after the scale on, never more than two at once
      const events = b.events();
      const starts = events.flatMap((e, i) => (e.startsWith('start ') ? [i] : []));
      expect(mostAtOnce(events, starts[4])).toBeLessThanOrEqual(2);
    } finally {
      await b.finish();
      await killWorkers();
    }
  }, 120_000);

  it("scale --pool through Redis raises a pool's limit across workers from 1 to 2", async () => {
    const b = new Batch();
    let run: Promise<Result> | undefined;
    try {
      const jobs = ['a', 'b', 'c', 'd'].map((n) => ({
        name: n,
        run: `sh gate.sh ${n}`,
        extra: ['pool: p'],
      }));
      fs.writeFileSync(
        path.join(b.dir, 'm.yaml'),
        manifest(jobs, ['pools:', '  p: { workers: 1 }']),
      );
      for (let i = 0; i < 2; i++) await startWorker(undefined, ['-j', '2', '--pool', 'p'], b.dir);
      run = jobrun(['run', 'm.yaml', '--backend', 'redis', '--progress', 'plain'], {
        cwd: b.dir,
        env: { XDG_RUNTIME_DIR: b.xdg },
        timeoutMs: 90_000,
      });
      await oneAtATimeThenScale(b, url, ['--pool', 'p=2'], 2);
      expect((await listedWhen(url, () => true, 'the run')).poolLimits).toEqual({ p: 2 });
      b.release();
      const done = await run;
      expect(done.code, done.stderr).toBe(0);
      expect(mostAtOnce(b.events())).toBe(2);
    } finally {
      b.release();
      await run?.catch(() => undefined);
      await killWorkers();
    }
  }, 120_000);

  it('drain through Redis lets the running job succeed and cancels the rest, report written', async () => {
    const b = new Batch();
    try {
      await startWorker(undefined, ['-j', '1'], b.dir);
      void b.start(['--backend', 'redis', '--report', 'r.json'], ['a', 'b', 'c']);
      await b.started('a');
      await listedWhen(url, (r) => r.running === 1, 'the run to show its running job');
      const drain = await elsewhere(url, ['drain', '--backend', 'redis']);
      expect(drain.code, drain.stderr).toBe(0);
      b.release();
      const run = await b.result;
      expect(run?.code, run?.stderr).toBe(0);
      const jobs = byName(b.report());
      expect(jobs.a).toMatchObject({ status: 'succeeded' });
      expect(jobs.b).toMatchObject({ status: 'cancelled', reason: 'drained' });
      expect(jobs.c).toMatchObject({ status: 'cancelled', reason: 'drained' });
      expect(b.count('start')).toBe(1);
      // gone from the listing at its end, and a late request says so
      expect(await listed(url)).toEqual([]);
      const late = await elsewhere(url, ['drain', '--backend', 'redis']);
      expect(late.code).toBe(2);
      expect(late.stderr).toMatch(/no jobrun run is live \(on redis:\/\/:\*\*\*@127\.0\.0\.1/);
    } finally {
      await b.finish();
      await killWorkers();
    }
  }, 120_000);

  it('a coordinator killed with -9 is refused at once and leaves the listing within its TTL', async () => {
    const b = new Batch();
    try {
      void b.start(['--backend', 'redis'], ['a']);
      const row = await listedWhen(url, (r) => r.total === 1, 'the run to be listed');
      b.child?.kill('SIGKILL');
      await b.result;
      const drain = await elsewhere(url, ['drain', '--backend', 'redis', String(row.runId)]);
      expect(drain.code).toBe(1);
      expect(drain.stderr).toMatch(/has ended; nothing was done/);
      const started = Date.now();
      await until(
        async () => ((await listed(url)).length === 0 ? true : undefined),
        60_000,
        'the entry to lapse',
      );
      // the entry lives 10 s after its last renewal; a busy machine adds to that
      expect(Date.now() - started).toBeLessThan(45_000);
    } finally {
      await b.finish();
    }
  }, 120_000);
});
