import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';
import { killWorkers, manifest, parseReport, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis.test.ts');

describe.runIf(enabled)('distributed runs on Redis (built bin)', () => {
  let redis: RedisServer;
  let dir: string;

  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir('jobrun-redis-e2e-');
  });
  afterAll(async () => {
    await killWorkers();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('two workers share a 30-job run; each job runs exactly once', async () => {
    const cwd = path.join(dir, 'share');
    const jobs = Array.from({ length: 30 }, (_, i) => ({
      name: `job-${i}`,
      run: `echo job-${i} >> ran.txt; sleep 0.05`,
    }));
    writeFiles(cwd, { 'm.yaml': manifest(jobs) });
    const w1 = await startWorker(redis.url, ['-j', '3'], cwd);
    const w2 = await startWorker(redis.url, ['-j', '3'], cwd);
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout);
    expect(report.summary).toMatchObject({ total: 30, succeeded: 30 });
    const ran = fs.readFileSync(path.join(cwd, 'ran.txt'), 'utf8').trim().split('\n');
    expect(ran.sort()).toEqual(jobs.map((j) => j.name).sort());
    const hosts = new Set(report.jobs.map((j) => j.worker?.split('/')[0]?.split(':').at(-1)));
    expect(hosts).toEqual(new Set([String(w1.pid), String(w2.pid)]));
    for (const job of report.jobs) expect(job.attempts).toHaveLength(1);
    w1.child.kill('SIGKILL');
    w2.child.kill('SIGKILL');
  });

  it('routes pool jobs to the workers serving that pool only', async () => {
    const cwd = path.join(dir, 'pools');
    writeFiles(cwd, {
      'm.yaml': manifest(
        [
          { name: 'c1', run: 'true', extra: ['pool: cpu'] },
          { name: 'c2', run: 'true', extra: ['pool: cpu'] },
          { name: 'plain1', run: 'true' },
          { name: 'plain2', run: 'true' },
        ],
        ['pools:', '  cpu: { workers: 2 }'],
      ),
    });
    const cpu = await startWorker(redis.url, ['--pool', 'cpu', '-j', '2'], cwd);
    const plain = await startWorker(redis.url, ['-j', '2'], cwd);
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const byName = new Map(parseReport(r.stdout).jobs.map((j) => [j.name, j]));
    const pidOf = (name: string) => byName.get(name)?.worker?.split('/')[0]?.split(':').at(-1);
    expect([pidOf('c1'), pidOf('c2')]).toEqual([String(cpu.pid), String(cpu.pid)]);
    expect([pidOf('plain1'), pidOf('plain2')]).toEqual([String(plain.pid), String(plain.pid)]);
    expect(byName.get('c1')?.pool).toBe('cpu');
    cpu.child.kill('SIGKILL');
    plain.child.kill('SIGKILL');
  });

  it('holds a pool to its width across every worker serving it', async () => {
    const cwd = path.join(dir, 'width');
    const jobs = Array.from({ length: 4 }, (_, i) => ({
      name: `narrow-${i}`,
      run: `echo "start $(date +%s%N)" >> spans.txt; sleep 0.3; echo "end $(date +%s%N)" >> spans.txt`,
      extra: ['pool: narrow'],
    }));
    writeFiles(cwd, { 'm.yaml': manifest(jobs, ['pools:', '  narrow: { workers: 1 }']) });
    const w1 = await startWorker(redis.url, ['--pool', 'narrow', '-j', '2'], cwd);
    const w2 = await startWorker(redis.url, ['--pool', 'narrow', '-j', '2'], cwd);
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    // with one job at a time, starts and ends strictly alternate
    const kinds = fs
      .readFileSync(path.join(cwd, 'spans.txt'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => l.split(' ')[0]);
    expect(kinds).toEqual(['start', 'end', 'start', 'end', 'start', 'end', 'start', 'end']);
    w1.child.kill('SIGKILL');
    w2.child.kill('SIGKILL');
  });

  it('enforces timeouts and retries on the worker; the run exits 1', async () => {
    const cwd = path.join(dir, 'retry');
    writeFiles(cwd, {
      'm.yaml': manifest(
        [
          {
            name: 'flaky',
            run: 'echo x >> tries.txt; [ $(wc -l < tries.txt) -ge 2 ]',
            extra: ['retries: 2'],
          },
          { name: 'always', run: 'exit 5', extra: ['retries: 1'] },
          { name: 'slow', run: 'sleep 30', extra: ['timeout: 500ms', 'kill_grace: 200ms'] },
        ],
        ['defaults:', '  backoff: { delay: 100ms, factor: 2, max: 1s, jitter: true }'],
      ),
    });
    const w = await startWorker(redis.url, ['-j', '4', '--pool', '*'], cwd);
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], { cwd });
    expect(r.code, r.stderr).toBe(1);
    const byName = new Map(parseReport(r.stdout).jobs.map((j) => [j.name, j]));
    expect(byName.get('flaky')).toMatchObject({ status: 'succeeded' });
    expect(byName.get('flaky')?.attempts.map((a) => a.exitCode)).toEqual([1, 0]);
    expect(byName.get('always')).toMatchObject({ status: 'failed', exitCode: 5 });
    expect(byName.get('always')?.attempts).toHaveLength(2);
    expect(byName.get('slow')).toMatchObject({ status: 'timed_out' });
    expect(byName.get('slow')?.attempts[0]?.timedOut).toBe(true);
    w.child.kill('SIGKILL');
  });

  it('serves Prometheus metrics and a health check on 127.0.0.1', async () => {
    const cwd = path.join(dir, 'metrics');
    writeFiles(cwd, {
      'm.yaml': manifest(
        [
          { name: 'ok', run: 'true', extra: ['pool: gpu'] },
          { name: 'bad', run: 'exit 1', extra: ['pool: gpu'] },
        ],
        ['pools:', '  gpu: { workers: 1 }'],
      ),
    });
    const w = await startWorker(redis.url, ['--pool', 'gpu', '--metrics-port', '0'], cwd);
    const url = /metrics on (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(w.stderr())?.[1];
    expect(url, w.stderr()).toBeDefined();
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url], { cwd });
    expect(r.code).toBe(1);
    const body = await (await fetch(`${url}/metrics`)).text();
    expect(body).toContain('jobrun_jobs_started_total{pool="gpu"} 2');
    expect(body).toContain('jobrun_jobs_succeeded_total{pool="gpu"} 1');
    expect(body).toContain('jobrun_jobs_failed_total{pool="gpu"} 1');
    expect(body).toContain('jobrun_jobs_active{pool="gpu"} 0');
    expect(body).toContain('jobrun_queue_depth{pool="gpu"} 0');
    expect(body).toMatch(/jobrun_job_duration_seconds_count\{pool="gpu",status="succeeded"\} 1/);
    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('ok\n');
    w.child.kill('SIGKILL');
  });

  it('refuses a payload it cannot validate: failed at once, never retried, never run', async () => {
    const cwd = path.join(dir, 'refuse');
    fs.mkdirSync(cwd, { recursive: true });
    const w = await startWorker(redis.url, ['--pool', 'evil'], cwd);
    const queue = new Queue('pool.evil', {
      connection: { host: '127.0.0.1', port: redis.port },
      prefix: 'jobrun',
    });
    try {
      const job = await queue.add('x', { command: 'touch pwned', shell: 42 }, { attempts: 3 });
      let state = '';
      for (let i = 0; i < 150 && state !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        state = await job.getState();
      }
      expect(state).toBe('failed');
      const failed = await queue.getJob(job.id!);
      expect(failed?.failedReason).toMatch(/refused the job: invalid job payload/);
      expect(failed?.attemptsMade).toBe(1);
      expect(fs.existsSync(path.join(cwd, 'pwned'))).toBe(false);
      expect(w.stderr()).toContain('refused job');
    } finally {
      await queue.close();
      w.child.kill('SIGKILL');
    }
  });

  it('never prints the password: wrong password and wrong port are exit 2 with the URL redacted', async () => {
    const cwd = path.join(dir, 'redact');
    writeFiles(cwd, { 'm.yaml': manifest([{ name: 'a', run: 'true' }]) });
    const secret = 'hunter2-s3cr3t';
    const wrongPass = `redis://jobrun:${secret}@127.0.0.1:${redis.port}/0`;
    const wrongPort = `redis://:${secret}@127.0.0.1:1`;
    const calls = [wrongPass, wrongPort].flatMap((url) => [
      ['run', 'm.yaml', '--backend', url, '--json'],
      ['worker', url],
    ]);
    for (const r of await Promise.all(calls.map((args) => jobrun(args, { cwd })))) {
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr + r.stdout).not.toContain(secret);
      expect(r.stderr).toContain(':***@127.0.0.1');
      expect(r.stderr).toMatch(/cannot use Redis at/);
    }
    const bad = await jobrun(['run', 'm.yaml', '--backend', `redis://u:${secret}@127.0.0.1:x`], {
      cwd,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).not.toContain(secret);
  });
});
