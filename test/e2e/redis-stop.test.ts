import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { jobrun, tempDir, waitFor, writeFiles } from './helpers.js';
import { killWorkers, manifest, parseReport, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-stop.test.ts');

/** Polls an async check every 50 ms until it is truthy, for at most `ms`. */
async function until<T>(check: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.runIf(enabled)('one stop path on Redis (built bin)', { timeout: 240_000 }, () => {
  let redis: RedisServer;
  let client: Redis;
  let dir: string;
  const coordinators: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    client = new Redis(redis.port, '127.0.0.1');
    dir = tempDir('jobrun-redis-stop-');
  });
  afterEach(async () => {
    for (const c of coordinators) if (c.exitCode === null) c.kill('SIGKILL');
    await killWorkers();
  });
  afterAll(async () => {
    client?.disconnect();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a job reported cancelled by --fail-fast never starts later, though a busy worker held it (10 runs)', async () => {
    const env = { JOBRUN_REDIS_URL: redis.url };
    // `busy` holds pools a and b with one slot: `victim` (pool b, queued once `slow`
    // started) is fetched by it and waits for the slot `slow` (pool a) holds; `fail`,
    // on the other worker, then ends the run
    const busy = await startWorker(undefined, ['--pool', 'a,b', '-j', '1'], dir, env);
    await startWorker(undefined, ['-j', '2'], dir, env);
    const waitFile = (file: string) =>
      `i=0; while [ ! -f ${file} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`;
    for (let rep = 0; rep < 10; rep++) {
      const cwd = path.join(dir, `rep${rep}`);
      writeFiles(cwd, {
        'm.yaml': manifest(
          [
            { name: `slow${rep}`, run: `touch ${cwd}/slow.start; sleep 2`, extra: ['pool: a'] },
            { name: `after${rep}`, run: waitFile(`${cwd}/slow.start`) },
            {
              name: `victim${rep}`,
              run: `touch ${cwd}/victim.ran`,
              extra: ['pool: b', `needs: [after${rep}]`],
            },
            // bounded: at most 60 s for the test's go-ahead
            { name: `fail${rep}`, run: `${waitFile(`${cwd}/go`)}; exit 1` },
          ],
          ['pools:', '  a: { workers: 1 }', '  b: { workers: 1 }'],
        ),
      });
      const run = jobrun(['run', 'm.yaml', '--backend', 'redis', '--fail-fast', '--json'], {
        cwd,
        env,
        timeoutMs: 90_000,
        onSpawn: (child) => coordinators.push(child),
      });
      // victim is in the busy worker's hands (active), not started
      await until(async () => (await client.llen('jobrun:pool.b:active')) === 1, 30_000, 'fetch');
      fs.writeFileSync(path.join(cwd, 'go'), '');
      const r = await run;
      expect(r.code, r.stderr).toBe(1);
      const victim = parseReport(r.stdout).jobs.find((j) => j.name === `victim${rep}`);
      expect(victim?.status).toBe('cancelled');
      // the worker's verdict on victim, whenever its slot frees
      const verdict = new RegExp(`(skip|start) victim${rep}[: ]`);
      await waitFor(() => verdict.test(busy.stderr()), 30_000, 'the worker to decide on victim');
      expect(busy.stderr()).toContain(`skip victim${rep}: its run was cancelled`);
      expect(busy.stderr()).not.toContain(`start victim${rep} `);
      expect(fs.existsSync(path.join(cwd, 'victim.ran'))).toBe(false);
    }
  });

  it('a job a worker started before --fail-fast reached it runs to its end, though the coordinator had not heard it start (5 runs)', async () => {
    // one slot: as `bad` fails, the worker takes `next` at once, and its start reaches
    // the coordinator after the failure that halts the run
    await startWorker(redis.url, ['-j', '1'], dir);
    for (let rep = 0; rep < 5; rep++) {
      const cwd = path.join(dir, `ran-on${rep}`);
      writeFiles(cwd, {
        'm.yaml': manifest([
          { name: `bad${rep}`, run: 'sleep 0.3; exit 1', extra: ['priority: 2'] },
          // the worker runs it in its own folder: the marks name the case's
          {
            name: `next${rep}`,
            run: `touch ${cwd}/next.start; sleep 1; touch ${cwd}/next.end`,
          },
        ]),
      });
      const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--fail-fast', '--json'], {
        cwd,
        timeoutMs: 60_000,
        onSpawn: (child) => coordinators.push(child),
      });
      expect(r.code, r.stderr).toBe(1);
      const next = parseReport(r.stdout).jobs.find((j) => j.name === `next${rep}`);
      if (fs.existsSync(path.join(cwd, 'next.start'))) {
        // it ran: a stop that lets running jobs finish did, and says how it ended
        expect(fs.existsSync(path.join(cwd, 'next.end')), `next${rep} was stopped`).toBe(true);
        expect(next?.status, `next${rep}`).toBe('succeeded');
      } else expect(next?.status, `next${rep}`).toBe('cancelled');
    }
  });

  it('--resume after Ctrl-C runs the rest: the resumed run is no longer marked cancelled', async () => {
    const cwd = path.join(dir, 'resume-after-stop');
    const ran = path.join(cwd, 'ran.txt');
    writeFiles(cwd, {
      'm.yaml': manifest([
        { name: 'a', run: 'echo a >> ran.txt; sleep 1' },
        { name: 'b', run: 'echo b >> ran.txt', extra: ['needs: [a]'] },
        { name: 'c', run: 'echo c >> ran.txt', extra: ['needs: [a]'] },
      ]),
    });
    await startWorker(redis.url, ['-j', '2'], cwd);
    let coordinator: ChildProcess | undefined;
    const first = jobrun(['run', 'm.yaml', '--backend', redis.url], {
      cwd,
      onSpawn: (child) => {
        coordinator = child;
        coordinators.push(child);
      },
    });
    await waitFor(() => fs.existsSync(ran), 15_000, 'a to start');
    coordinator!.kill('SIGINT');
    expect((await first).signal).toBe('SIGINT'); // re-raised: its report says 130
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--resume', '--json'], {
      cwd,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(parseReport(r.stdout).summary).toMatchObject({ total: 3, succeeded: 3 });
    expect(fs.readFileSync(ran, 'utf8').split('\n').filter(Boolean).sort()).toEqual([
      'a',
      'a',
      'b',
      'c',
    ]);
  });

  it('a first Ctrl-C under --graceful counts only the jobs a worker runs, not those waiting in Redis', async () => {
    const cwd = path.join(dir, 'graceful-count');
    fs.mkdirSync(cwd, { recursive: true });
    await startWorker(redis.url, ['-j', '1'], cwd);
    // one job runs (until `go`), three wait in Redis for the worker's one slot
    const job =
      'touch started; for i in $(seq 1 600); do [ -e go ] && break; sleep 0.05; done; : {}';
    let said = '';
    const run = jobrun(
      ['run', '--backend', redis.url, '--graceful', '1m', '--', job, ':::', 'a', 'b', 'c', 'd'],
      {
        cwd,
        timeoutMs: 60_000,
        onSpawn: (child) => {
          coordinators.push(child);
          child.stderr!.on('data', (d: Buffer) => (said += d.toString()));
          void waitFor(() => fs.existsSync(path.join(cwd, 'started')), 20_000, 'a job to start')
            .then(() => child.kill('SIGINT'))
            .then(() => waitFor(() => said.includes('stopping'), 20_000, 'the stopping line'))
            .finally(() => fs.writeFileSync(path.join(cwd, 'go'), ''));
        },
      },
    );
    const r = await run;
    expect(r.signal, r.stderr).toBe('SIGINT');
    expect(r.stderr).toContain('stopping: waiting for 1 running job (up to 1m00s)');
    expect(r.stderr).toMatch(/4 jobs: 1 succeeded, 3 cancelled/);
  });

  it('a halt removes the run’s waiting jobs from Redis in bulk and marks the run cancelled', async () => {
    const cwd = path.join(dir, 'bulk');
    const n = 3000;
    await startWorker(redis.url, ['-j', '1'], dir);
    // a pool nobody serves: every job but `bad` waits in Redis
    const bad = `i=0; while [ ! -f ${cwd}/go ] && [ $i -lt 900 ]; do sleep 0.1; i=$((i+1)); done; exit 1`;
    writeFiles(cwd, {
      'm.yaml': manifest(
        [
          { name: 'bad', run: bad },
          ...Array.from({ length: n }, (_, i) => ({
            name: `j${i}`,
            run: 'true',
            extra: ['pool: idle'],
          })),
        ],
        ['pools:', '  idle: { workers: 1 }'],
      ),
    });
    const run = jobrun(
      ['run', 'm.yaml', '--backend', redis.url, '--halt', 'now,fail=1', '--json'],
      { cwd, timeoutMs: 120_000, onSpawn: (child) => coordinators.push(child) },
    );
    await until(
      async () => (await client.zcard('jobrun:pool.idle:prioritized')) === n,
      90_000,
      'every job queued',
    );
    const marks = (await client.keys('jobrun:meta:cancelled:*')).length;
    const t0 = Date.now();
    fs.writeFileSync(path.join(cwd, 'go'), '');
    const r = await run;
    const stopMs = Date.now() - t0;
    expect(parseReport(r.stdout).summary).toMatchObject({ total: n + 1, failed: 1, cancelled: n });
    // gone from Redis by the time the coordinator exits
    expect(await client.zcard('jobrun:pool.idle:prioritized')).toBe(0);
    expect(await client.keys('jobrun:meta:cancelled:*')).toHaveLength(marks + 1);
    // loose: a job at a time would be far slower on a busy machine too
    expect(stopMs).toBeLessThan(30_000);
  });
});
