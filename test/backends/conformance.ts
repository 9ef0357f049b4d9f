import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backends/backend.js';
import type { JobSpec, PoolSpec } from '../../src/model/job.js';
import { EventLog, job } from '../core/harness.js';

/** A backend under test, with everything it needs running (for Redis: a server and a worker). */
export interface BackendFixture {
  backend: Backend;
  /** Runs one job at a time (local: -j 1; Redis: a worker with -j 1). */
  close(): Promise<void>;
}

let runs = 0;

/**
 * One suite, run against every backend (BullMQ's adapter-conformance tests are the
 * model): the same jobs must reach the same final states with the same events,
 * whether they run here or on a Redis worker. Jobs are real shell commands.
 */
export function conformance(label: string, setup: () => Promise<BackendFixture>): void {
  describe(`backend conformance: ${label}`, () => {
    let fixture: BackendFixture;
    let dir: string;

    beforeAll(async () => {
      fixture = await setup();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-conf-'));
    });
    afterAll(async () => {
      await fixture?.close();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    function spec(name: string, command: string, extra: Partial<JobSpec> = {}, index = 0): JobSpec {
      return job(name, { command, cwd: dir, killGraceMs: 200, ...extra }, index);
    }

    async function run(
      jobs: JobSpec[],
      pools: Record<string, PoolSpec> = {},
      interruptAfterStart?: string,
    ) {
      const log = new EventLog();
      runs++;
      const logDir = path.join(dir, `logs-${runs}`);
      fs.mkdirSync(logDir, { recursive: true });
      const handle = fixture.backend.createRun({
        runId: `t${runs}-${process.pid}`,
        manifestPath: null,
        logDir,
        workers: { min: 1, max: 1 },
        pools,
        order: 'fifo',
        emit: (type, payload) => {
          log.emit(type, payload);
          if (type === 'job_start' && (payload as { name: string }).name === interruptAfterStart) {
            handle.interrupt('SIGINT');
          }
        },
        identity: `conformance:${label}:${runs}:${Date.now()}`,
        resume: false,
      });
      const outcome = await handle.run(jobs);
      return { log, outcome };
    }

    const read = (file: string) =>
      fs.readFileSync(path.join(dir, file), 'utf8').split('\n').filter(Boolean);

    it('starts higher priorities first, file order among equals', async () => {
      const { outcome } = await run([
        spec('p-a', 'echo a >> prio.txt', {}, 0),
        spec('p-b', 'echo b >> prio.txt', { priority: 10 }, 1),
        spec('p-c', 'echo c >> prio.txt', { priority: 5 }, 2),
        spec('p-d', 'echo d >> prio.txt', { priority: 10 }, 3),
      ]);
      expect(outcome.exitCode).toBe(0);
      expect(read('prio.txt')).toEqual(['b', 'd', 'c', 'a']);
    });

    it('releases a job when its needs succeed, skips it when one failed', async () => {
      const { log, outcome } = await run([
        spec('n-build', 'exit 1', {}, 0),
        spec('n-test', 'echo test >> needs.txt', { needs: ['n-build'] }, 1),
        spec('n-gen', 'echo gen >> needs.txt', {}, 2),
        spec('n-use', 'echo use >> needs.txt', { needs: ['n-gen'] }, 3),
      ]);
      expect(log.ended('n-test')).toMatchObject({
        status: 'skipped',
        reason: 'need "n-build" failed',
      });
      expect(log.ended('n-use').status).toBe('succeeded');
      expect(read('needs.txt')).toEqual(['gen', 'use']);
      expect(outcome.exitCode).toBe(1);
      expect(outcome.summary).toMatchObject({ total: 4, succeeded: 2, failed: 1, skipped: 1 });
    });

    it('retries with the manifest backoff and counts every attempt', async () => {
      const flaky =
        'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ge 3 ]';
      const backoff = { delayMs: 50, factor: 2, maxMs: 1000, jitter: false };
      const { log } = await run([spec('r-flaky', flaky, { retries: 2, backoff })]);
      const record = log.ended('r-flaky');
      expect(record.status).toBe('succeeded');
      expect(record.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
      expect(record.attempts.map((a) => a.exitCode)).toEqual([1, 1, 0]);
      expect(log.of('job_retry').map((e) => [e.nextAttempt, e.delayMs])).toEqual([
        [2, 50],
        [3, 100],
      ]);
      expect(log.of('job_start').map((e) => e.attempt)).toEqual([1, 2, 3]);
    });

    it('fails a job whose retries ran out, with its exit code and output tail', async () => {
      const backoff = { delayMs: 10, factor: 1, maxMs: 10, jitter: true };
      const { log, outcome } = await run([
        spec('x-fail', 'echo boom; exit 4', { retries: 1, backoff }),
        spec('x-ok', 'exit 0', { allowFailure: true }, 1),
        spec('x-allowed', 'exit 9', { allowFailure: true }, 2),
      ]);
      const record = log.ended('x-fail');
      expect(record).toMatchObject({ status: 'failed', exitCode: 4 });
      expect(record.attempts).toHaveLength(2);
      expect(record.outputTail).toContain('boom');
      expect(log.ended('x-allowed')).toMatchObject({ status: 'failed', exitCode: 9 });
      expect(outcome.exitCode).toBe(1);
    });

    it('does not retry a command that cannot run (126, 127)', async () => {
      const backoff = { delayMs: 10, factor: 1, maxMs: 10, jitter: false };
      const { log } = await run([
        spec('c-missing', 'no-such-command-here', { retries: 2, backoff }),
        spec('c-noexec', 'exit 126', { retries: 2, backoff }, 1),
        spec('c-other', 'exit 125', { retries: 1, backoff }, 2),
      ]);
      expect(log.ended('c-missing')).toMatchObject({ status: 'failed', exitCode: 127 });
      expect(log.ended('c-missing').attempts).toHaveLength(1);
      expect(log.ended('c-noexec').attempts).toHaveLength(1);
      expect(log.ended('c-other').attempts).toHaveLength(2);
    });

    it('exits 0 when every job that counts succeeded', async () => {
      const { outcome } = await run([
        spec('z-ok', 'true'),
        spec('z-allowed', 'exit 2', { allowFailure: true }, 1),
      ]);
      expect(outcome.exitCode).toBe(0);
    });

    it('times out an attempt: timed_out, the process group stopped', async () => {
      const { log, outcome } = await run([spec('t-slow', 'sleep 30', { timeout: { ms: 300 } })]);
      const record = log.ended('t-slow');
      expect(record.status).toBe('timed_out');
      expect(record.attempts[0]?.timedOut).toBe(true);
      expect(record.attempts[0]!.durationMs).toBeLessThan(10_000);
      expect(outcome.exitCode).toBe(1);
    });

    it('ends every job exactly once, with one job_start per attempt', async () => {
      const specs = Array.from({ length: 12 }, (_, i) =>
        spec(`e-${i}`, i % 4 === 3 ? 'exit 1' : 'true', { needs: i >= 6 ? [`e-${i - 6}`] : [] }, i),
      );
      const { log, outcome } = await run(specs);
      const ends = log
        .of('job_end')
        .map((e) => e.job.name)
        .sort();
      expect(ends).toEqual(specs.map((s) => s.name).sort());
      const attempts = log.of('job_end').reduce((n, e) => n + e.job.attempts.length, 0);
      expect(log.of('job_start')).toHaveLength(attempts);
      expect(log.of('attempt_end')).toHaveLength(attempts);
      expect(outcome.summary.total).toBe(12);
      expect(log.of('run_end')).toHaveLength(1);
    });

    it('routes pool jobs and reports their pool', async () => {
      const { log, outcome } = await run(
        [
          spec('pool-1', 'echo cpu >> pool.txt', { pool: 'cpu' }, 0),
          spec('pool-2', 'echo cpu >> pool.txt', { pool: 'cpu' }, 1),
          spec('pool-3', 'echo none >> pool.txt', {}, 2),
        ],
        { cpu: { workers: 1 } },
      );
      expect(outcome.exitCode).toBe(0);
      expect(log.ended('pool-1').pool).toBe('cpu');
      expect(log.ended('pool-3').pool).toBeUndefined();
      expect(read('pool.txt').sort()).toEqual(['cpu', 'cpu', 'none']);
      expect(log.of('job_queued').find((e) => e.name === 'pool-2')?.pool).toBe('cpu');
    });

    it('cancels on interrupt: running jobs stopped, waiting ones never start', async () => {
      const { log, outcome } = await run(
        [spec('i-long', 'sleep 30', {}, 0), spec('i-next', 'echo next >> int.txt', {}, 1)],
        {},
        'i-long',
      );
      expect(outcome.exitCode).toBe(130);
      expect(log.ended('i-long').status).toBe('cancelled');
      expect(log.ended('i-next').status).toBe('cancelled');
      expect(fs.existsSync(path.join(dir, 'int.txt'))).toBe(false);
    });
  });
}
