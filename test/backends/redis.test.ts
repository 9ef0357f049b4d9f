import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { openRedisBackend } from '../../src/backends/redis-coordinator.js';
import { parseRedisUrl } from '../../src/backends/redis-url.js';
import { JobrunWorker } from '../../src/backends/redis-worker.js';
import { conformance } from './conformance.js';
import { requireRedisOrWarn, startRedis } from './redis-server.js';

if (requireRedisOrWarn('test/backends/redis.test.ts')) {
  conformance('redis', async () => {
    const server = await startRedis();
    const worker = new JobrunWorker({
      target: parseRedisUrl(server.url),
      concurrency: 1,
      pools: '*',
      discoverMs: 50,
      logRoot: path.join(os.tmpdir(), `jobrun-conf-worker-${process.pid}`),
      baseDir: process.cwd(),
    });
    await worker.start();
    const backend = await openRedisBackend(parseRedisUrl(server.url));
    return {
      backend,
      close: async () => {
        await backend.close();
        await worker.close(true);
        await server.stop();
      },
    };
  });
} else {
  describe.skip('backend conformance: redis (redis-server missing)', () => {});
}
