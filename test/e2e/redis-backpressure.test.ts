import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { BIN, tempDir } from './helpers.js';
import { killWorkers, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-backpressure.test.ts');

/** Resident memory of a process in KiB, or undefined once it is gone. */
function rssKB(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  } catch {
    return undefined;
  }
}

/**
 * V8 grows its heap lazily, garbage included, well past what a run retains; with the
 * heap capped, what is retained must fit, or the coordinator dies of it (asserted).
 */
const HEAP = '--max-old-space-size=64';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.runIf(enabled)('backpressure across the wire (built bin)', { timeout: 180_000 }, () => {
  let redis: RedisServer;
  let client: Redis;
  let dir: string;
  let coordinator: ChildProcess | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.port, '127.0.0.1');
    dir = tempDir('jobrun-redis-bp-');
  });
  afterAll(async () => {
    if (coordinator?.exitCode === null) coordinator.kill('SIGKILL');
    await killWorkers();
    client?.disconnect();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('--max-queue holds the run’s waiting jobs in Redis; the producer blocks; the coordinator stays flat', async () => {
    const maxQueue = 200;
    const total = 300_000;
    await startWorker(redis.url, ['-j', '2'], dir);
    const child = spawn(
      process.execPath,
      [
        BIN,
        'run',
        '--stdin',
        '--backend',
        redis.url,
        '--max-queue',
        String(maxQueue),
        '--progress',
        'none',
        '--',
        'true {}',
      ],
      {
        cwd: dir,
        stdio: ['pipe', 'ignore', 'pipe'],
        env: { ...process.env, CI: 'true', NODE_OPTIONS: HEAP },
      },
    );
    coordinator = child;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const stdin = child.stdin!;
    stdin.on('error', () => {});
    // the producer: writes as fast as the pipe takes lines, waits when it does not
    let written = 0;
    let stopped = false;
    const producing = (async () => {
      while (written < total && !stopped) {
        const ok = stdin.write(`${written}\n`);
        written++;
        if (!ok) await new Promise((r) => stdin.once('drain', r).once('close', r));
      }
    })();

    const waiting: number[] = [];
    const rss: number[] = [];
    // bounded: 40 samples half a second apart while jobs flow
    for (let i = 0; i < 40 && child.exitCode === null; i++) {
      await sleep(500);
      waiting.push(await client.zcard('jobrun:default:prioritized'));
      const kb = rssKB(child.pid!);
      if (kb !== undefined) rss.push(kb);
    }
    const consumed = written;
    const survived = child.exitCode === null && child.signalCode === null;
    stopped = true;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    stdin.destroy();
    await producing.catch(() => {});

    expect(stderr).not.toMatch(/error/i);
    expect(survived, stderr).toBe(true);
    // never more than --max-queue of the run's jobs wait in Redis (a few in flight aside)
    expect(Math.max(...waiting)).toBeLessThanOrEqual(maxQueue);
    // the producer was blocked: a fraction of the stream was taken in 20 s
    expect(consumed).toBeLessThan(total / 2);
    // flat: once the queues are full (start-up and filling take seconds on a busy
    // machine), the second half of the samples stays within 30 MB (loose on purpose)
    const settled = rss.slice(Math.floor(rss.length / 2));
    expect(settled.length).toBeGreaterThan(5);
    expect(Math.max(...settled) - Math.min(...settled)).toBeLessThan(30 * 1024);
  });
});
