import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';
import { killWorkers, startWorker } from './redis-helpers.js';
import { PIPELINE, PIPELINE_FILES, byName } from './stages-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-stages.test.ts');

describe.runIf(enabled)('results and stages on Redis workers (built bin)', () => {
  let redis: RedisServer;
  let dir: string;

  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir('jobrun-redis-stages-');
  });
  afterAll(async () => {
    await killWorkers();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs the three-stage manifest from results that travel back from the workers', async () => {
    writeFiles(dir, { ...PIPELINE_FILES, 'm.yaml': PIPELINE });
    const worker = await startWorker(redis.url, ['-j', '2'], dir);
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    const jobs = byName(report);
    expect(Object.keys(jobs).sort()).toEqual(['list', 'size-a', 'size-b b', 'size-c', 'total']);
    expect(jobs.list!.result).toEqual(['a.txt', 'b b.txt', 'c.txt']);
    expect([jobs['size-a']!.result, jobs['size-b b']!.result, jobs['size-c']!.result]).toEqual([
      3, 5, 7,
    ]);
    // every job ran on the worker, not in the coordinator
    for (const job of report.jobs) expect(job.worker).toContain(`:${worker.pid}/`);
    worker.child.kill('SIGKILL');
  });

  it('a bad JSON result fails the attempt on the worker, which retries it', async () => {
    writeFiles(dir, {
      'bad.yaml': [
        'version: 1',
        'jobs:',
        '  - name: bad',
        '    run: echo not-json',
        '    capture: json',
        '    retries: 1',
        '    backoff: { delay: 10ms, jitter: false }',
        '',
      ].join('\n'),
    });
    const worker = await startWorker(redis.url, ['-j', '1'], dir);
    const r = await jobrun(['run', 'bad.yaml', '--backend', redis.url, '--json'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(r.code).toBe(1);
    const job = (JSON.parse(r.stdout) as Report).jobs[0]!;
    expect(job.status).toBe('failed');
    expect(job.attempts).toHaveLength(2);
    for (const a of job.attempts) expect(a.error).toMatch(/^capture json: stdout is not JSON/);
    expect(job.attempts[0]!.outputTail).toBe('not-json');
    worker.child.kill('SIGKILL');
  });
});
