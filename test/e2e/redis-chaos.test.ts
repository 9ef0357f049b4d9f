import { execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { alive, jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';
import {
  Groups,
  killGroup,
  killWorkers,
  manifest,
  parseReport,
  startWorker,
  type ReportJob,
} from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-chaos.test.ts');

const PASSWORD = 'S3cr3t-chaos-pw';
const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled']);

/** Processes whose command line contains `token` (job shells carry it in their command). */
function processesWith(token: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(token) && !l.includes('ps -eo'))
    .map((l) => l.trim());
}

/** Every job in exactly one final state, each name once. */
function expectOneFinalStateEach(jobs: ReportJob[], names: string[]): void {
  expect(jobs.map((j) => j.name).sort()).toEqual([...names].sort());
  for (const job of jobs) expect(FINAL.has(job.status), `${job.name}: ${job.status}`).toBe(true);
}

/** A job that leaves `<name>.start` (with its shell's pid) and, if it finishes, `<name>.done`. */
function markedJob(name: string, token: string, seconds: number) {
  return {
    name,
    run: `: ${token}; echo $$ >> ${name}.start; sleep ${seconds}; echo ${name} >> ${name}.done; echo ${name} >> done.txt`,
  };
}

describe.runIf(enabled)('Redis without surprises (built bin)', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let url: string;
  let dir: string;
  const groups = new Groups();
  const coordinators: ChildProcess[] = [];
  const servers: RedisServer[] = [];

  beforeAll(async () => {
    redis = await startRedis(['--requirepass', PASSWORD]);
    url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    dir = tempDir('jobrun-redis-chaos-');
  });
  // a test that failed half-way must not leave workers serving the next test's jobs
  afterEach(async () => {
    for (const c of coordinators) if (c.exitCode === null) c.kill('SIGKILL');
    groups.killAll();
    await killWorkers();
  });
  afterAll(async () => {
    for (const s of [redis, ...servers]) await s?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ JOBRUN_REDIS_URL: url });
  const pidsOf = (cwd: string, name: string) =>
    readLines(path.join(cwd, `${name}.start`)).map(Number);

  it('a password passed in JOBRUN_REDIS_URL or a file is in no argv, no job environment, no worker /proc/<pid>/environ', async () => {
    const cwd = path.join(dir, 'secret');
    const token = 'tok-secret';
    writeFiles(cwd, {
      'm.yaml': manifest(
        [1, 2, 3, 4].map((i) => ({
          name: `s${i}`,
          run: `: ${token}; env > env-s${i}.txt; tr '\\0' ' ' < /proc/$PPID/cmdline > argv-s${i}.txt; echo s${i} >> started.txt; sleep 1`,
        })),
      ),
      'url.txt': `${url}\n`,
    });
    const w = await startWorker(undefined, ['-j', '2'], cwd, env());
    const run = jobrun(['run', 'm.yaml', '--redis-url-file', 'url.txt', '--json'], {
      cwd,
      timeoutMs: 60_000,
    });
    await waitFor(() => readLines(path.join(cwd, 'started.txt')).length >= 1, 40_000, 'a job');
    // while jobs run: no process on this machine shows the password in its argv
    const leaking: string[] = [];
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(PASSWORD)) leaking.push(pid);
      } catch {
        // gone, or not ours to read
      }
    }
    expect(leaking).toEqual([]);
    // nor in the worker's environment block, which its jobs (same user) could read
    const environ = fs.readFileSync(`/proc/${w.pid}/environ`);
    expect(environ.includes(PASSWORD)).toBe(false);
    expect(environ.includes('JOBRUN_REDIS_URL=')).toBe(false);
    expect(environ.includes('PATH=')).toBe(true); // the rest is intact
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    expect(parseReport(r.stdout).summary).toMatchObject({ total: 4, succeeded: 4 });
    for (const i of [1, 2, 3, 4]) {
      const jobEnv = fs.readFileSync(path.join(cwd, `env-s${i}.txt`), 'utf8');
      expect(jobEnv).not.toContain(PASSWORD);
      expect(jobEnv).not.toContain('JOBRUN_REDIS_URL');
      expect(fs.readFileSync(path.join(cwd, `argv-s${i}.txt`), 'utf8')).not.toContain(PASSWORD);
    }
    expect(r.stderr + w.stderr()).not.toContain(PASSWORD);
    expect(r.stderr).not.toContain('warning');
    // on the command line it still works, with a warning that names the safe ways
    const bad = await jobrun(['worker', url, '--pool', 'bad:name'], { cwd });
    expect(bad.stderr).toMatch(/warning: the Redis password on the command line.*JOBRUN_REDIS_URL/);
    expect(bad.stderr).not.toContain(PASSWORD);
    w.child.kill('SIGKILL');
  });

  it('jobs with equal names are distinct jobs on Redis: the run ends, each runs once', async () => {
    const cwd = path.join(dir, 'dup');
    fs.mkdirSync(cwd, { recursive: true });
    const w = await startWorker(undefined, ['-j', '2'], cwd, env());
    const r = await jobrun(
      ['run', '--stdin', '--backend', 'redis', '--json', '--', 'echo {} >> ran.txt'],
      { cwd, env: env(), input: 'dup\ndup\ndup\n', timeoutMs: 60_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(parseReport(r.stdout).summary).toMatchObject({ total: 3, succeeded: 3 });
    expect(readLines(path.join(cwd, 'ran.txt'))).toEqual(['dup', 'dup', 'dup']);
    w.child.kill('SIGKILL');
  });

  it('bad pool names and a database that does not exist are exit 2; a bad registry entry stops no pool', async () => {
    const cwd = path.join(dir, 'validate');
    writeFiles(cwd, {
      'bad.yaml': manifest(
        [{ name: 'x', run: 'true', extra: ['pool: "a:b"'] }],
        ['pools:', '  "a:b": { workers: 1 }'],
      ),
      'good.yaml': manifest(
        [{ name: 'g', run: 'echo g >> ran.txt', extra: ['pool: good'] }],
        ['pools:', '  good: { workers: 1 }'],
      ),
    });
    const pool = await jobrun(['worker', '--pool', 'cpu,bad:name'], { cwd, env: env() });
    expect(pool.code).toBe(2);
    expect(pool.stderr).toContain('pool name "bad:name" cannot be used');
    const db = await jobrun(['worker'], { cwd, env: { JOBRUN_REDIS_URL: `${url}/99999` } });
    expect(db.code).toBe(2);
    expect(db.stderr).toMatch(/DB index is out of range/);
    const manifestPool = await jobrun(['run', 'bad.yaml', '--backend', 'redis'], {
      cwd,
      env: env(),
    });
    expect(manifestPool.code, manifestPool.stderr).toBe(2);
    expect(manifestPool.stderr).toContain('pool name "a:b" cannot be used');

    const conn = new Redis({ port: redis.port, password: PASSWORD, lazyConnect: true });
    await conn.connect();
    await conn.sadd('jobrun:meta:pools', 'pool.bad:name', 'pool.a:z', 'weird');
    await conn.quit();
    const w = await startWorker(undefined, ['--pool', '*'], cwd, env());
    const r = await jobrun(['run', 'good.yaml', '--backend', 'redis', '--json'], {
      cwd,
      env: env(),
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readLines(path.join(cwd, 'ran.txt'))).toEqual(['g']);
    expect(w.stderr()).toContain('skipping queue "pool.bad:name"');
    w.child.kill('SIGKILL');
  });

  it('-j limits the whole worker across its pools; remote output streams back', async () => {
    const cwd = path.join(dir, 'width');
    const jobs = ['a', 'b'].flatMap((pool) =>
      [1, 2, 3].map((i) => ({
        name: `${pool}${i}`,
        // mkdir is atomic: a second job inside at the same time leaves overlap.txt
        run: `mkdir lock 2>/dev/null || echo ${pool}${i} >> overlap.txt; echo out-${pool}${i}; sleep 0.2; rmdir lock 2>/dev/null; true`,
        extra: [`pool: ${pool}`],
      })),
    );
    const pools = ['pools:', '  a: { workers: 9 }', '  b: { workers: 9 }'];
    writeFiles(cwd, { 'm.yaml': manifest(jobs, pools) });
    const w = await startWorker(undefined, ['--pool', 'a,b', '-j', '1'], cwd, env());
    const r = await jobrun(['run', 'm.yaml', '--backend', 'redis', '--output', 'stream'], {
      cwd,
      env: env(),
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(readLines(path.join(cwd, 'overlap.txt'))).toEqual([]);
    // each line names its job and the worker (host:pid/slot) that printed it
    for (const job of jobs)
      expect(r.stdout).toMatch(
        new RegExp(`^\\[${job.name}@[^\\]\\s]+:\\d+/\\d+\\] out-${job.name}$`, 'm'),
      );
    w.child.kill('SIGKILL');
  });

  it('a worker stopped by a second SIGTERM or by SIGHUP mid-job exits and takes its jobs with it; each job finishes once', async () => {
    const cwd = path.join(dir, 'worker-signals');
    const token = 'tok-worker-signals';
    writeFiles(cwd, {
      'm.yaml': manifest([markedJob('j1', token, 2), markedJob('j2', token, 2)]),
    });
    const lock = ['--lock-duration', '2s'];
    const a = await startWorker(undefined, ['-j', '1', ...lock], cwd, env());
    const run = jobrun(['run', 'm.yaml', '--backend', 'redis', '--json'], {
      cwd,
      env: env(),
      timeoutMs: 90_000,
    });
    const [first] = await waitFor(
      () => {
        const started = ['j1', 'j2'].filter((n) => pidsOf(cwd, n).length > 0);
        return started.length ? started : undefined;
      },
      20_000,
      'a job on worker A',
    );
    groups.push(...pidsOf(cwd, first!));
    a.child.kill('SIGTERM');
    await waitFor(() => a.stderr().includes('draining'), 10_000, 'A draining');
    a.child.kill('SIGTERM');
    expect(await a.exited).toBe(143);
    // killed before the worker exited; gone once init has reaped it
    for (const pid of pidsOf(cwd, first!))
      await waitFor(() => !alive(pid), 5000, `job ${pid} of A`);

    const c = await startWorker(undefined, ['-j', '1', ...lock], cwd, env());
    await waitFor(() => c.stderr().includes('start '), 30_000, 'a job on worker C');
    const onC = ['j1', 'j2'].flatMap((n) => pidsOf(cwd, n)).filter((p) => !groups.includes(p));
    groups.push(...onC);
    c.child.kill('SIGHUP');
    expect(await c.exited).toBe(129);
    for (const pid of onC) await waitFor(() => !alive(pid), 5000, `job ${pid} of C`);

    const b = await startWorker(undefined, ['-j', '2', ...lock], cwd, env());
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout);
    expectOneFinalStateEach(report.jobs, ['j1', 'j2']);
    for (const job of report.jobs) {
      expect(job.status).toBe('succeeded');
      expect(job.worker).toContain(`:${b.pid}/`);
      // finished exactly once: the killed attempts never reached their end
      expect(readLines(path.join(cwd, `${job.name}.done`))).toEqual([job.name]);
    }
    const lost = report.jobs
      .flatMap((j) => j.attempts)
      .filter((at) => at.error?.startsWith('lost'));
    expect(lost.length).toBeGreaterThanOrEqual(2);
    b.child.kill('SIGKILL');
    expect(processesWith(token)).toEqual([]);
  });

  it('a worker killed with kill -9 mid-job takes its job with it (spawner); the job finishes once elsewhere', async () => {
    const cwd = path.join(dir, 'kill-9');
    const token = 'tok-kill-9';
    writeFiles(cwd, {
      'm.yaml': manifest([{ ...markedJob('k', token, 2), extra: ['kill_grace: 200ms'] }]),
    });
    const lock = ['--lock-duration', '2s'];
    const a = await startWorker(undefined, ['-j', '1', ...lock], cwd, env());
    const run = jobrun(['run', 'm.yaml', '--backend', 'redis', '--json'], {
      cwd,
      env: env(),
      timeoutMs: 90_000,
    });
    const first = (await waitFor(() => pidsOf(cwd, 'k')[0], 40_000, 'k on A'))!;
    groups.push(first);
    a.child.kill('SIGKILL');
    await a.exited;
    await waitFor(() => !alive(first), 10_000, 'k of the killed worker to die');
    const b = await startWorker(undefined, ['-j', '1', ...lock], cwd, env());
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const [job] = parseReport(r.stdout).jobs;
    expect(job?.worker).toContain(`:${b.pid}/`);
    expect(job?.attempts[0]?.error).toMatch(/^lost: /);
    expect(readLines(path.join(cwd, 'k.done'))).toEqual(['k']);
    expect(processesWith(token)).toEqual([]);
  });

  it('a worker that lost a job’s lock (SIGSTOP) stops that job at once when it wakes; the job finishes once', async () => {
    const cwd = path.join(dir, 'lock-lost');
    const token = 'tok-lock-lost';
    // L waits for the test's go: A's copy cannot finish while A is frozen
    const run = `: ${token}; echo $$ >> L.start; until [ -e go ]; do sleep 0.1; done; echo L >> L.done`;
    writeFiles(cwd, { 'm.yaml': manifest([{ name: 'L', run }]) });
    const lock = ['--lock-duration', '2s'];
    const a = await startWorker(undefined, ['-j', '1', ...lock], cwd, env());
    const coordinator = jobrun(['run', 'm.yaml', '--backend', 'redis', '--json'], {
      cwd,
      env: env(),
      timeoutMs: 90_000,
    });
    const first = (await waitFor(() => pidsOf(cwd, 'L')[0], 40_000, 'L on A'))!;
    groups.push(first);
    a.child.kill('SIGSTOP');
    const b = await startWorker(undefined, ['-j', '1', ...lock], cwd, env());
    const second = (await waitFor(() => pidsOf(cwd, 'L')[1], 30_000, 'L on B'))!;
    groups.push(second);
    a.child.kill('SIGCONT');
    await waitFor(() => a.stderr().includes('lost the lock'), 20_000, 'A to notice');
    await waitFor(() => !alive(first), 5000, 'A’s copy of L to die');
    fs.writeFileSync(path.join(cwd, 'go'), '');
    const r = await coordinator;
    expect(r.code, r.stderr).toBe(0);
    const [job] = parseReport(r.stdout).jobs;
    expect(job?.worker).toContain(`:${b.pid}/`);
    expect(readLines(path.join(cwd, 'L.done'))).toEqual(['L']);
    expect(processesWith(token)).toEqual([]);
  });

  it('Ctrl-C at the coordinator with a dead worker: a worker started later runs none of the cancelled jobs', async () => {
    const cwd = path.join(dir, 'cancelled');
    const token = 'tok-cancelled';
    const names = ['z1', 'z2', 'z3'];
    writeFiles(cwd, {
      'm.yaml': manifest(
        names.map((n) => ({ ...markedJob(n, token, 1), extra: ['kill_grace: 200ms'] })),
      ),
    });
    const a = await startWorker(undefined, ['-j', '1', '--lock-duration', '2s'], cwd, env());
    let coordinator: ChildProcess | undefined;
    const run = jobrun(['run', 'm.yaml', '--backend', 'redis', '--json'], {
      cwd,
      env: env(),
      timeoutMs: 60_000,
      onSpawn: (child) => {
        coordinator = child;
        coordinators.push(child);
      },
    });
    const pid = (await waitFor(() => pidsOf(cwd, 'z1')[0], 40_000, 'z1 to start'))!;
    // the worker's machine dies: the worker and its job
    a.child.kill('SIGKILL');
    killGroup(pid);
    await a.exited;
    coordinator!.kill('SIGINT');
    const r = await run;
    // 130 is re-raised as SIGINT once everything is written, so a shell loop sees it
    expect(r.signal, r.stderr).toBe('SIGINT');
    const report = parseReport(r.stdout);
    expectOneFinalStateEach(report.jobs, names);
    for (const job of report.jobs) expect(job.status).toBe('cancelled');

    // a worker started afterwards gets z1 back from stalled-job recovery, and refuses it
    const b = await startWorker(undefined, ['-j', '2', '--lock-duration', '2s'], cwd, env());
    await waitFor(
      () => b.stderr().includes('skip z1: its run was cancelled'),
      30_000,
      'z1 refused',
    );
    expect(readLines(path.join(cwd, 'done.txt'))).toEqual([]);
    expect(names.flatMap((n) => pidsOf(cwd, n))).toEqual([pid]);
    b.child.kill('SIGKILL');
    expect(processesWith(token)).toEqual([]);
  });

  it('Redis restarted without persistence mid-run: the coordinator says so and ends, exit 1; nothing is reported succeeded that did not run', async () => {
    const own = await startRedis(['--requirepass', PASSWORD]);
    servers.push(own);
    const ownUrl = { JOBRUN_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${own.port}` };
    const cwd = path.join(dir, 'restart');
    const token = 'tok-restart';
    const names = Array.from({ length: 24 }, (_, i) => `r${i}`);
    writeFiles(cwd, { 'm.yaml': manifest(names.map((n) => markedJob(n, token, 0.3))) });
    const w1 = await startWorker(undefined, ['-j', '2'], cwd, ownUrl);
    const w2 = await startWorker(undefined, ['-j', '2'], cwd, ownUrl);
    const run = jobrun(['run', 'm.yaml', '--backend', 'redis', '--json'], {
      cwd,
      env: ownUrl,
      timeoutMs: 90_000,
    });
    await waitFor(() => readLines(path.join(cwd, 'done.txt')).length >= 4, 30_000, '4 jobs');
    await own.stop();
    servers.push(await startRedis(['--requirepass', PASSWORD], own.port));
    const r = await run;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/lost this run's state/);
    const report = parseReport(r.stdout);
    expectOneFinalStateEach(report.jobs, names);
    const done = new Set(readLines(path.join(cwd, 'done.txt')));
    for (const job of report.jobs.filter((j) => j.status === 'succeeded'))
      expect(done.has(job.name), `${job.name} reported succeeded`).toBe(true);
    for (const w of [w1, w2]) {
      w.child.kill('SIGTERM');
      await waitFor(() => w.stderr().includes('draining'), 10_000, 'draining');
      w.child.kill('SIGTERM');
      await w.exited;
    }
    expect(processesWith(token)).toEqual([]);
  }, 120_000);

  it.each(['timeout', 'ctrl-c'] as const)(
    'Redis gone for good (%s): the coordinator says so and ends (exit 1 after --redis-timeout, 130 on a second Ctrl-C); so does a worker on a second SIGTERM',
    async (variant) => {
      const cwd = path.join(dir, `gone-${variant}`);
      const token = `tok-gone-${variant}`;
      const names = Array.from({ length: 12 }, (_, i) => `g${i}`);
      writeFiles(cwd, { 'm.yaml': manifest(names.map((n) => markedJob(n, token, 0.3))) });
      {
        const own = await startRedis(['--requirepass', PASSWORD]);
        servers.push(own);
        const ownUrl = { JOBRUN_REDIS_URL: `redis://:${PASSWORD}@127.0.0.1:${own.port}` };
        fs.rmSync(path.join(cwd, 'done.txt'), { force: true });
        const w = await startWorker(undefined, ['-j', '2'], cwd, ownUrl);
        let coordinator: ChildProcess | undefined;
        const limit = variant === 'timeout' ? '3s' : '10m';
        const run = jobrun(
          ['run', 'm.yaml', '--backend', 'redis', '--json', '--redis-timeout', limit],
          {
            cwd,
            env: ownUrl,
            timeoutMs: 60_000,
            onSpawn: (child) => {
              coordinator = child;
              coordinators.push(child);
            },
          },
        );
        await waitFor(() => readLines(path.join(cwd, 'done.txt')).length >= 2, 30_000, '2 jobs');
        await own.stop();
        if (variant === 'ctrl-c') {
          await waitFor(() => coordinator!.exitCode === null, 1000, 'coordinator alive');
          coordinator!.kill('SIGINT');
          coordinator!.kill('SIGINT');
        }
        const r = await run;
        if (variant === 'timeout') expect(r.code, r.stderr).toBe(1);
        else expect(r.signal, r.stderr).toBe('SIGINT'); // 130, re-raised as the signal
        if (variant === 'timeout') expect(r.stderr).toMatch(/was unreachable for 3s/);
        const report = parseReport(r.stdout);
        expectOneFinalStateEach(report.jobs, names);
        const done = new Set(readLines(path.join(cwd, 'done.txt')));
        for (const job of report.jobs.filter((j) => j.status === 'succeeded'))
          expect(done.has(job.name), `${job.name} reported succeeded`).toBe(true);
        // the worker, cut off from Redis, still stops on a second signal
        w.child.kill('SIGTERM');
        await waitFor(() => w.stderr().includes('draining'), 10_000, 'draining');
        w.child.kill('SIGTERM');
        expect(await w.exited).toBe(143);
      }
      expect(processesWith(token)).toEqual([]);
    },
    120_000,
  );
});
