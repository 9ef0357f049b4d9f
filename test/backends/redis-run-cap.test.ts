import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunCaps, capKey, setRunCap, setRunPause } from '../../src/backends/redis-run-cap.js';
import { RedisScale } from '../../src/backends/redis-scale.js';
import { monitorRedis, requireRedisOrWarn, startRedis, type RedisServer } from './redis-server.js';

/** The keys of the default queue as BullMQ names them (prefix `jobrun`). */
const QUEUE = 'jobrun:default:';

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
    await one.acquire('run-a', 'j1', '', () => false);
    await two.acquire('run-a', 'j2', '', () => false); // no limit yet: both run
    await conns[0]!.set(capKey('run-a'), '2');
    let third = false;
    const waiting = two.acquire('run-a', 'j3', '', () => false).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(third).toBe(false);
    one.release('j1');
    await waiting;
    expect(third).toBe(true);
    // another run is not held by this one's limit
    await one.acquire('run-b', 'k1', '', () => false);
    // a job that will not start anyway (cancelled) stops waiting
    let cancelled = false;
    const gaveUp = one.acquire('run-a', 'j4', '', () => cancelled);
    cancelled = true;
    await gaveUp;
  });

  it("a worker that dies (no renewals) frees its run's place once its lease lapses", async () => {
    const dead = worker(300);
    await conns[0]!.set(capKey('run-c'), '1');
    await dead.acquire('run-c', 'x', '', () => false);
    dead.stop(); // as after kill -9: the lease is never renewed nor released
    const started = Date.now();
    await worker().acquire('run-c', 'y', '', () => false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
  it('a run without a limit nor a pause: the look before a start reads three keys and writes nothing', async () => {
    const w = worker();
    await conns.at(-1)!.ping(); // its connection is ready: its own set-up is no part of a look
    const { client, monitor } = await monitorRedis(redis.url);
    const seen: string[][] = [];
    monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
    await conns[0]!.ping('before'); // MONITOR is on once this shows
    for (let i = 0; i < 50 && !seen.some((a) => a.includes('before')); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await w.check('run-free', 'run-free.j1', '')).toBe('go');
    w.release('run-free.j1');
    await conns[0]!.ping('after');
    for (let i = 0; i < 100 && !seen.some((a) => a.includes('after')); i++)
      await new Promise((r) => setTimeout(r, 20));
    monitor.disconnect();
    client.disconnect();
    const between = seen.slice(
      seen.findIndex((a) => a.includes('before')) + 1,
      seen.findIndex((a) => a.includes('after')),
    );
    const names = between.map((a) => a[0]?.toLowerCase());
    // one script call (EVALSHA, or EVAL the first time) and the three reads it makes
    const reads = ['exists', 'sismember', 'get'];
    expect(names.filter((n) => reads.includes(n ?? ''))).toHaveLength(3);
    expect(names.every((n) => ['evalsha', 'eval', ...reads].includes(n ?? ''))).toBe(true);
    // the script is given the lease keys' names, but no command touches them
    const commands = between.filter((a) => !/^eval/i.test(a[0] ?? ''));
    expect(commands.flat().some((a) => /meta:(leases|unleased):/.test(a))).toBe(false);
  });

  it('a limit set while jobs run counts the ones that started without a lease', async () => {
    const [one, two] = [worker(), worker()];
    const conn = conns[0]!;
    // two jobs fetched (active, locked, as BullMQ does), checked before the limit: they run
    const fetch = (id: string) =>
      conn.multi().lpush(`${QUEUE}active`, id).set(`${QUEUE}${id}:lock`, 'token').exec();
    const end = (id: string) =>
      conn.multi().lrem(`${QUEUE}active`, 0, id).del(`${QUEUE}${id}:lock`).exec();
    for (const id of ['run-d.a', 'run-d.b', 'run-d.c']) await fetch(id);
    expect(await one.check('run-d', 'run-d.a', '')).toBe('go');
    expect(await two.check('run-d', 'run-d.b', '')).toBe('go');
    await setRunCap(conn, 'run-d', 2, 60, [QUEUE]);
    // run-d.c was fetched but had not started: it counts only until it asks
    expect(await two.check('run-d', 'run-d.c', '')).toBe('held');
    await end('run-d.a');
    expect(await two.check('run-d', 'run-d.c', '')).toBe('go');
    await fetch('run-d.d');
    expect(await one.check('run-d', 'run-d.d', '')).toBe('held');
    // a job of the run fetched but not checked on this worker does not hold its peers back
    await end('run-d.b');
    await fetch('run-d.e');
    await setRunCap(conn, 'run-d', 2, 60, [QUEUE]); // notes run-d.e as possibly running
    await one.acquire(
      'run-d',
      'run-d.d',
      '',
      () => false,
      () => ['run-d.e'],
    );
    expect(await one.check('run-d', 'run-d.d', '')).toBe('go');
  });

  it('a pause holds the run, or only its paused pool, until it is lifted', async () => {
    const w = worker();
    const conn = conns[0]!;
    await setRunPause(conn, 'run-p', { paused: false, pausedPools: ['gpu'] }, 60_000);
    expect(await w.check('run-p', 'run-p.a', 'gpu')).toBe('pool paused');
    expect(await w.check('run-p', 'run-p.b', '')).toBe('go');
    expect(await w.check('run-p', 'run-p.c', 'cpu')).toBe('go');
    await setRunPause(conn, 'run-p', { paused: true, pausedPools: [] }, 60_000);
    expect(await w.check('run-p', 'run-p.d', '')).toBe('paused');
    expect(await w.check('run-other', 'run-other.a', '')).toBe('go');
    // a job waiting for the pause to end starts once it is lifted, not before
    let lifted = false;
    let started = false;
    const waiting = w
      .acquire('run-p', 'run-p.d', '', () => false)
      .then(() => {
        started = true;
        expect(lifted).toBe(true);
      });
    await new Promise((r) => setTimeout(r, 300));
    expect(started).toBe(false);
    lifted = true;
    await setRunPause(conn, 'run-p', { paused: false, pausedPools: [] }, 60_000);
    await waiting;
    expect(await conn.exists('jobrun:meta:paused:run-p')).toBe(0);
    // a cancelled run says so first: its held jobs are dropped, not kept waiting
    await setRunPause(conn, 'run-p', { paused: true, pausedPools: [] }, 60_000);
    await conn.set('jobrun:meta:cancelled:run-p', '1');
    expect(await w.check('run-p', 'run-p.e', '')).toBe('cancelled');
  });

  it("a run's pause is renewed while its coordinator lives, and lapses once it is gone", async () => {
    const coordinator = new Redis(redis.url);
    const conn = conns[0]!;
    let state = { paused: false, pausedPools: [] as string[], poolLimits: {} };
    const scheduler = {
      pause: () => void (state = { ...state, paused: true }),
      unpause: () => void (state = { ...state, paused: false }),
      scale: () => true,
      cancel: () => ({ cancelled: [], stopping: [], unknown: [] }),
      drain: () => {},
      steering: () => state,
    };
    const scale = new RedisScale({
      conn: coordinator,
      runKey: 'run-q',
      pools: [],
      queueOf: () => Promise.reject(new Error('no queue here')),
      emit: () => {},
      pauseLapseMs: 600,
    });
    const controls = scale.controls(scheduler);
    await controls.pause();
    await new Promise((r) => setTimeout(r, 1500)); // more than twice its lapse
    expect(await conn.sismember('jobrun:meta:paused:run-q', '*')).toBe(1);
    await controls.unpause();
    expect(await conn.exists('jobrun:meta:paused:run-q')).toBe(0);
    await controls.pause();
    coordinator.disconnect(); // as after kill -9: no more renewals
    let lapsed = false;
    for (let i = 0; i < 100 && !lapsed; i++) {
      await new Promise((r) => setTimeout(r, 50));
      lapsed = (await conn.exists('jobrun:meta:paused:run-q')) === 0;
    }
    expect(lapsed).toBe(true);
    await scale.forget().catch(() => {}); // stops the renewals (its connection is gone)
  });

  it('never more than the limit once it is set, however the starts interleave with it', async () => {
    const LIMIT = 2;
    const conn = conns[0]!;
    const workers = [worker(), worker(), worker()];
    const running = new Set<string>();
    let setDone = false;
    let postSetStarted = false;
    let worst = 0;
    let seq = 0;
    const runOne = async (w: RunCaps): Promise<void> => {
      const id = `run-e.${seq++}`;
      await conn.multi().lpush(`${QUEUE}active`, id).set(`${QUEUE}${id}:lock`, 't').exec();
      for (let tries = 0; tries < 200; tries++) {
        const afterSet = setDone;
        const said = await w.check('run-e', id, '');
        if (said === 'go') {
          running.add(id);
          if (afterSet) postSetStarted = true;
          if (postSetStarted) worst = Math.max(worst, running.size);
          await new Promise((r) => setTimeout(r, Math.random() * 15));
          running.delete(id);
          w.release(id);
          await conn.multi().lrem(`${QUEUE}active`, 0, id).del(`${QUEUE}${id}:lock`).exec();
          return;
        }
        await w.acquire('run-e', id, '', () => false);
      }
      throw new Error(`job ${id} never started`);
    };
    const lanes = workers.flatMap((w) =>
      [0, 1, 2].map(async () => {
        for (let i = 0; i < 8; i++) await runOne(w);
      }),
    );
    await new Promise((r) => setTimeout(r, 30));
    await setRunCap(conn, 'run-e', LIMIT, 60, [QUEUE]);
    setDone = true;
    await Promise.all(lanes);
    expect(postSetStarted).toBe(true);
    expect(worst).toBeLessThanOrEqual(LIMIT);
  });
});
