import { describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis } from '../backends/redis-server.js';
import { waitFor } from './helpers.js';
import { Batch } from './operate-helpers.js';
import { elsewhere, redisWithPassword, startElsewhere, type Elsewhere } from './redis-elsewhere.js';
import { killWorkers, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/watch-redis-remote.test.ts');

/** The password of this file's Redis: it must never show in any output. */
const PASSWORD = 'W4tch-9d2e';

/** Starts `jobrun watch --backend redis` elsewhere once the run is listed there. */
async function watchElsewhere(url: string, extra: string[] = []): Promise<Elsewhere> {
  for (let tries = 0; ; tries++) {
    const ps = await elsewhere(url, ['ps', '--backend', 'redis', '--json']);
    if (ps.code === 0 && (JSON.parse(ps.stdout) as unknown[]).length === 1) break;
    if (tries === 100) throw new Error(`the run was never listed in Redis: ${ps.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return startElsewhere(url, ['watch', '--backend', 'redis', '--progress', 'plain', ...extra]);
}

describe.runIf(enabled)(
  'jobrun watch --backend: a run on Redis watched from another machine',
  () => {
    const redisUrl = redisWithPassword(PASSWORD);

    it("shows the run's progress live and exits 0 with a run that succeeds", async () => {
      const b = new Batch();
      try {
        await startWorker(undefined, ['-j', '2'], b.dir);
        void b.start(['--backend', 'redis'], ['a', 'b']);
        await b.started('a', 'b');
        const plain = await watchElsewhere(redisUrl());
        const json = await watchElsewhere(redisUrl(), ['--json']);
        await waitFor(() => plain.seen().includes('jobrun: 2 jobs'), 30_000, 'the snapshot');
        await waitFor(() => json.seen().includes('"run_start"'), 30_000, 'the json snapshot');
        // an event after the snapshot reaches the watcher while the run goes on
        b.release('a');
        await waitFor(() => /succeeded\s+a/.test(plain.seen()), 30_000, 'a to show as succeeded');
        expect(plain.seen()).not.toMatch(/succeeded\s+b/);
        b.release();
        const [run, shown, events] = await Promise.all([b.result, plain.result, json.result]);
        expect(run?.code, run?.stderr).toBe(0);
        expect(shown.code, shown.stderr).toBe(0);
        expect(shown.stderr).toMatch(/succeeded\s+b/);
        const types = events.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { type: string }).type);
        expect(events.code, events.stderr).toBe(0);
        expect(types.filter((t) => t === 'job_end')).toHaveLength(2);
        expect(types.at(-1)).toBe('run_end');
        for (const out of [shown, events]) expect(out.stdout + out.stderr).not.toContain(PASSWORD);
        // logs stays refused, saying why
        const logs = await elsewhere(redisUrl(), ['logs', '--backend', 'redis', 'a']);
        expect(logs.code).toBe(2);
        expect(logs.stderr).toMatch(/job output is kept on the workers/);
      } finally {
        await b.finish();
        await killWorkers();
      }
    }, 150_000);

    it("exits with a failing run's non-zero exit code", async () => {
      const b = new Batch();
      try {
        await startWorker(undefined, ['-j', '2'], b.dir);
        void b.start(['--backend', 'redis'], ['bad', 'c']);
        await b.started('bad', 'c');
        const watch = await watchElsewhere(redisUrl());
        await waitFor(() => watch.seen().includes('jobrun: 2 jobs'), 30_000, 'the snapshot');
        b.release();
        const [run, shown] = await Promise.all([b.result, watch.result]);
        expect(run?.code).toBe(1);
        expect(shown.code, shown.stderr).toBe(1);
        expect(shown.stderr).toMatch(/failed\s+bad/);
        expect(shown.stderr).toMatch(/succeeded\s+c/);
      } finally {
        await b.finish();
        await killWorkers();
      }
    }, 150_000);

    it('a coordinator killed with -9 ends the watcher with a clear message within the TTL', async () => {
      const b = new Batch();
      try {
        void b.start(['--backend', 'redis'], ['a']);
        const watch = await watchElsewhere(redisUrl());
        await waitFor(() => /jobrun: 1 job/.test(watch.seen()), 30_000, 'the snapshot');
        const started = Date.now();
        b.child?.kill('SIGKILL');
        const shown = await watch.result;
        expect(shown.code).toBe(1);
        expect(shown.stderr).toMatch(/went away without saying how it ended/);
        // the entry lives 10 s after its last renewal, checked every second; a busy machine adds
        expect(Date.now() - started).toBeLessThan(45_000);
      } finally {
        await b.finish();
      }
    }, 150_000);

    it('a Redis that goes away ends the watcher with a clear message within --redis-timeout', async () => {
      const own = await startRedis();
      const b = new Batch();
      try {
        const ownUrl = `redis://127.0.0.1:${own.port}`;
        void b.start(['--backend', ownUrl, '--redis-timeout', '2s'], ['a']);
        const watch = await watchElsewhere(ownUrl, ['--redis-timeout', '2s']);
        await waitFor(() => /jobrun: 1 job/.test(watch.seen()), 30_000, 'the snapshot');
        const started = Date.now();
        await own.stop();
        const shown = await watch.result;
        expect(shown.code).toBe(2);
        expect(shown.stderr).toMatch(/lost Redis at redis:\/\/127\.0\.0\.1/);
        expect(Date.now() - started).toBeLessThan(30_000);
      } finally {
        await b.finish();
        await own.stop();
      }
    }, 150_000);
  },
);
