import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';
import { killWorkers, startWorker } from './redis-helpers.js';
import { EXTRACT_THEN_T, PIPELINE, PIPELINE_FILES, byName } from './stages-helpers.js';

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

  it('a stage of a stage and a stdin fan-in run on the workers', async () => {
    writeFiles(dir, {
      'fan.yaml': `version: 1
jobs:
${EXTRACT_THEN_T}  - name: u-{item}
    for_each: { from: "t-{item}" }
    run: echo {item}
  - name: load
    stdin: { from: "u-{item}" }
    run: cat; readlink /proc/$$/fd/0 | grep -c '[.]stdin$'
    capture: lines
`,
    });
    const worker = await startWorker(redis.url, ['-j', '2'], dir);
    const r = await jobrun(['run', 'fan.yaml', '--backend', redis.url, '--json'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs.load!.result).toEqual([
      '{"name":"u-a1","result":["a1"]}',
      '{"name":"u-a2","result":["a2"]}',
      '{"name":"u-b1","result":["b1"]}',
      '{"name":"u-b2","result":["b2"]}',
      '1',
    ]);
    worker.child.kill('SIGKILL');
  });

  it('tells a job on a worker who it is, as a local run does, plus JOBRUN_WORKER', async () => {
    writeFiles(dir, {
      'env.yaml': [
        'version: 1',
        'jobs:',
        '  - name: who',
        '    run: echo "$JOBRUN_RUN_ID $JOBRUN_JOB_ID $JOBRUN_JOB_NAME $JOBRUN_ATTEMPT $JOBRUN_SLOT $JOBRUN_WORKER"',
        '    capture: stdout',
        '',
      ].join('\n'),
    });
    const worker = await startWorker(redis.url, ['-j', '2'], dir);
    const r = await jobrun(['run', 'env.yaml', '--backend', redis.url, '--json'], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    const who = report.jobs[0]!;
    const [label, slot] = who.worker!.split('/');
    expect(who.result).toBe(`${report.runId} ${who.id} who 1 ${slot} ${label}\n`);
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
