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

  /** The run's jobs handed to Redis so far: taken or not, ended or not (one atomic look). */
  async function handedOut(queue: string): Promise<number> {
    const counts = await client
      .multi()
      .llen(`${queue}:wait`)
      .zcard(`${queue}:prioritized`)
      .zcard(`${queue}:delayed`)
      .llen(`${queue}:active`)
      .zcard(`${queue}:completed`)
      .zcard(`${queue}:failed`)
      .exec();
    return (counts ?? []).reduce((sum, [, n]) => sum + Number(n), 0);
  }

  /**
   * A project with two workers (`-j 2`) serving a pool of their own (the first test's
   * worker takes none of its jobs), and `m.yaml`: `total` jobs `NAME-N` in that pool,
   * each printing `lines` lines `N-<line>`.
   */
  async function poolProject(pool: string, total: number, lines: number, line: string) {
    const cwd = tempDir(`jobrun-redis-bp-${pool}-`);
    await startWorker(redis.url, ['-j', '2', '--pool', pool], cwd);
    await startWorker(redis.url, ['-j', '2', '--pool', pool], cwd);
    const items = Array.from({ length: total }, (_, i) => i + 1).join(', ');
    const jobs = [`  - name: "${pool}-{item}"`, `    pool: ${pool}`, `    for_each: [${items}]`];
    const run = `    run: "yes {item}-${line} | head -n ${lines}"`;
    const head = ['version: 1', `pools: { ${pool}: { per_worker: 2 } }`, 'jobs:'];
    fs.writeFileSync(`${cwd}/m.yaml`, [...head, ...jobs, run].join('\n') + '\n');
    return cwd;
  }

  it('a stopped reader of the coordinator’s output holds the hand-overs back; every line arrives once it reads', async () => {
    const total = 100;
    const lines = 2000;
    // about 200 kB each: one job fills the pipe to the stopped reader
    const cwd = await poolProject(
      'out',
      total,
      lines,
      `${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}`,
    );
    const child = spawn(
      process.execPath,
      [BIN, 'run', 'm.yaml', '--backend', redis.url, '--output', 'stream', '--report', 'r.json'],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: 'true' } },
    );
    coordinator = child;
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.setEncoding('utf8').pause(); // the reader is stopped
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));

    // the reader stopped: jobs started (their output fills the pipe), then no more reach Redis
    let handed = 0;
    for (let i = 0; i < 200 && (await client.llen('jobrun:pool.out:active')) < 4; i++)
      await sleep(250);
    // bounded: 30 looks half a second apart, the reader still stopped
    for (let i = 0; i < 30 && child.exitCode === null; i++) {
      handed = Math.max(handed, await handedOut('jobrun:pool.out'));
      await sleep(500);
    }
    expect(child.exitCode, stderr).toBeNull();
    // the workers' 4 slots, the few left waiting in Redis (16), and some slack
    expect(handed).toBeGreaterThanOrEqual(4);
    expect(handed).toBeLessThanOrEqual(40);

    let out = '';
    child.stdout!.on('data', (d: string) => (out += d));
    child.stdout!.resume();
    expect(await exited, stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(`${cwd}/r.json`, 'utf8')) as {
      summary: Record<string, number>;
    };
    expect(report.summary.succeeded).toBe(total);
    // the workers waited for the coordinator to read: every job's every line, `[out-N@w] N-abc…`
    const perJob = new Map<string, number>();
    for (const line of out.split('\n')) {
      const m = /^\[out-(\d+)@[^\]]+\] (\d+)-abc/.exec(line);
      if (m && m[1] === m[2]) perJob.set(m[1]!, (perJob.get(m[1]!) ?? 0) + 1);
    }
    expect(perJob.size).toBe(total);
    expect([...perJob.values()]).toEqual(Array.from({ length: total }, () => lines));
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('grouped output of jobs printing more lines than the run’s Redis stream keeps arrives whole', async () => {
    const total = 12;
    const lines = 20_000; // each job alone as many as the stream keeps (20,000 lines)
    const cwd = await poolProject('whole', total, lines, 'abcdefghijklmnopqrstuvwxyz0123456789');
    const child = spawn(process.execPath, [BIN, 'run', 'm.yaml', '--backend', redis.url], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CI: 'true' },
    });
    coordinator = child;
    let stderr = '';
    let rest = '';
    const perJob = new Map<string, number>();
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      const got = (rest + d).split('\n');
      rest = got.pop()!;
      for (const line of got) {
        const job = /^(\d+)-abc/.exec(line)?.[1];
        if (job !== undefined) perJob.set(job, (perJob.get(job) ?? 0) + 1);
      }
    });
    const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    expect(code, stderr).toBe(0);
    expect(stderr).not.toMatch(/removed before/);
    expect(perJob.size).toBe(total);
    expect([...perJob.values()]).toEqual(Array.from({ length: total }, () => lines));
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  it('after the coordinator was killed with its reader stopped, the workers wait again for the resumed run', async () => {
    const total = 40;
    const lines = 5000; // 4 jobs at once print as many as the stream keeps
    const cwd = await poolProject('again', total, lines, 'abcdefghijklmnopqrstuvwxyz0123456789');
    const args = [BIN, 'run', 'm.yaml', '--backend', redis.url, '--output', 'stream'];
    const env = { ...process.env, CI: 'true' };
    const first = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'ignore'], env });
    coordinator = first;
    first.stdout!.pause(); // its reader is stopped: the workers' jobs wait on their output
    for (let i = 0; i < 200 && (await client.llen('jobrun:pool.again:active')) < 4; i++)
      await sleep(250);
    first.kill('SIGKILL');
    await new Promise((r) => first.once('close', r));
    // the workers stop waiting for it (its reading mark lapses within 5 s) and run what it handed out
    const queue = 'jobrun:pool.again';
    for (let i = 0; i < 240; i++) {
      const [waiting, active] = [
        await client.zcard(`${queue}:prioritized`),
        await client.llen(`${queue}:active`),
      ];
      if (waiting + active === 0) break;
      await sleep(500);
    }
    const ranBefore = new Set(
      (await client.zrange(`${queue}:completed`, 0, -1)).map((id) => /(again-\d+)\./.exec(id)?.[1]),
    );
    expect(ranBefore.size).toBeGreaterThan(0);
    expect(ranBefore.size).toBeLessThan(total);

    const resumed = spawn(process.execPath, [...args, '--resume'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env,
    });
    coordinator = resumed;
    let out = '';
    let stderr = '';
    resumed.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    resumed.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((r) => resumed.once('close', (c) => r(c)));
    expect(code, stderr).toBe(0);
    const perJob = new Map<string, number>();
    for (const line of out.split('\n')) {
      const name = /^\[(again-\d+)@[^\]]+\] \d+-abc/.exec(line)?.[1];
      if (name !== undefined) perJob.set(name, (perJob.get(name) ?? 0) + 1);
    }
    // every job the resumed run ran shows every line (those run before it: what is left)
    const ranNow = Array.from({ length: total }, (_, i) => `again-${i + 1}`).filter(
      (n) => !ranBefore.has(n),
    );
    expect(ranNow.map((n) => [n, perJob.get(n)])).toEqual(ranNow.map((n) => [n, lines]));
    fs.rmSync(cwd, { recursive: true, force: true });
  });
});
