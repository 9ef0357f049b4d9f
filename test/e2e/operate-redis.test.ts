import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { waitFor } from './helpers.js';
import { Batch } from './operate-helpers.js';
import { killWorkers, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/operate-redis.test.ts');

describe.runIf(enabled)('a run on Redis, from another terminal', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await killWorkers();
    await redis?.stop();
  });

  it('is listed by ps and watched; steering verbs are refused with a clear message', async () => {
    const b = new Batch();
    try {
      await startWorker(redis.url, ['-j', '1'], b.dir);
      void b.start(['--backend', redis.url], ['a', 'b']);
      await b.started('a');
      await waitFor(() => b.runFiles().length === 2, 10_000, 'the run to register');
      const rows = JSON.parse((await b.ctl(['ps', '--json'])).stdout) as Array<
        Record<string, unknown>
      >;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ pid: b.child?.pid, total: 2 });
      const watch = b.follow(['watch']);
      await waitFor(() => watch.seen().includes('jobrun: 2 jobs'), 30_000, 'the watcher');
      const scale = await b.ctl(['scale', '-j', '2']);
      expect(scale.code).toBe(1);
      expect(scale.stderr).toMatch(/takes no control requests/);
      b.release();
      expect((await b.result)?.code).toBe(0);
      const w = await watch.result;
      expect(w.code).toBe(0);
      expect(w.stderr).toMatch(/2 jobs: 2 succeeded/);
    } finally {
      await b.finish();
    }
  });
});
