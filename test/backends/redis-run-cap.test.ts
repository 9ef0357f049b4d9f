import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunCaps, capKey } from '../../src/backends/redis-run-cap.js';
import { requireRedisOrWarn, startRedis, type RedisServer } from './redis-server.js';

const enabled = requireRedisOrWarn('test/backends/redis-run-cap.test.ts');

describe.runIf(enabled)("a run's limit across workers (jobrun scale -j on Redis)", () => {
  let redis: RedisServer;
  const conns: Redis[] = [];
  const caps: RunCaps[] = [];
  const worker = (leaseMs = 10_000) => {
    const conn = new Redis(redis.url);
    conns.push(conn);
    const c = new RunCaps(conn, leaseMs);
    caps.push(c);
    return c;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const c of caps) c.stop();
    for (const c of conns) c.disconnect();
    await redis?.stop();
  });

  it('holds a job back while the run is at its limit, on any worker, and lets it go when one ends', async () => {
    const [one, two] = [worker(), worker()];
    await one.acquire('run-a', 'j1', () => false);
    await two.acquire('run-a', 'j2', () => false); // no limit yet: both run
    await conns[0]!.set(capKey('run-a'), '2');
    let third = false;
    const waiting = two.acquire('run-a', 'j3', () => false).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(third).toBe(false);
    one.release('j1');
    await waiting;
    expect(third).toBe(true);
    // another run is not held by this one's limit
    await one.acquire('run-b', 'k1', () => false);
    // a job that will not start anyway (cancelled) stops waiting
    let cancelled = false;
    const gaveUp = one.acquire('run-a', 'j4', () => cancelled);
    cancelled = true;
    await gaveUp;
  });

  it("a worker that dies (no renewals) frees its run's place once its lease lapses", async () => {
    const dead = worker(300);
    await conns[0]!.set(capKey('run-c'), '1');
    await dead.acquire('run-c', 'x', () => false);
    dead.stop(); // as after kill -9: the lease is never renewed nor released
    const started = Date.now();
    await worker().acquire('run-c', 'y', () => false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
