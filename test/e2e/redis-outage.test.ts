import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { alive, jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';
import { Groups, killWorkers, manifest, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-outage.test.ts');

describe.runIf(enabled)('a Redis outage stays bounded (built bin)', { timeout: 120_000 }, () => {
  let redis: RedisServer | undefined;
  const dir = tempDir('jobrun-redis-outage-');
  const pids = new Groups();
  let coordinator: ChildProcess | undefined;

  afterAll(async () => {
    if (coordinator?.exitCode === null) coordinator.kill('SIGKILL');
    pids.killAll();
    await killWorkers();
    await redis?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM then Redis killed: the coordinator ends within --redis-timeout plus grace; the worker stops its jobs after its lock period', async () => {
    redis = await startRedis();
    const cwd = path.join(dir, 'outage');
    writeFiles(cwd, {
      'm.yaml': manifest(
        [1, 2].map((i) => ({
          name: `long${i}`,
          run: `echo $$ >> ${cwd}/starts; sleep 60`,
          extra: ['kill_grace: 1s'],
        })),
      ),
    });
    const worker = await startWorker(redis.url, ['-j', '2', '--lock-duration', '3s'], cwd);
    const run = jobrun(['run', 'm.yaml', '--backend', redis.url, '--redis-timeout', '4s'], {
      cwd,
      timeoutMs: 90_000,
      onSpawn: (child) => (coordinator = child),
    });
    const started = await waitFor(
      () => {
        const lines = readLines(path.join(cwd, 'starts'));
        return lines.length >= 2 ? lines.map(Number) : undefined;
      },
      60_000,
      'both jobs to start',
    );
    pids.push(...started);
    // the coordinator is told to stop, and Redis dies under it
    coordinator!.kill('SIGTERM');
    await redis.stop();
    const t0 = Date.now();
    const r = await run;
    // --redis-timeout (4 s) + kill grace (1 s), with room for a busy machine
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.code === null ? r.signal : r.code).not.toBe(0);
    // the worker cannot renew its locks: it stops its jobs (TERM, KILL after grace)
    await waitFor(() => started.every((pid) => !alive(pid)), 30_000, 'the jobs to be stopped');
    expect(worker.stderr()).toMatch(/lost the lock on job/);
    expect(alive(worker.pid)).toBe(true); // the worker itself waits for Redis to return
  });
});
