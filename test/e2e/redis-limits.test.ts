import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { requireRedisOrWarn } from '../backends/redis-server.js';
import { waitFor } from './helpers.js';
import { redisBatches, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-limits.test.ts');

/** What the run's `--progress plain` says at its start. */
const header = (stderr: string) => stderr.split('\n').find((l) => l.startsWith('jobrun: 3 jobs'));

/** The most jobs of `events` (start/end lines) that ran at once. */
function mostAtOnce(events: string[]): number {
  let now = 0;
  let most = 0;
  for (const e of events) {
    now += e.startsWith('start ') ? 1 : -1;
    most = Math.max(most, now);
  }
  return most;
}

describe.runIf(enabled)("a Redis run's limit: -j, and what the header and ps say", () => {
  const { url, batch } = redisBatches();

  it('-j 1 holds the run to one job at once across a worker of 3 slots; the header and ps say so', async () => {
    const b = batch();
    await startWorker(url(), ['-j', '3'], b.dir);
    void b.start(['--backend', url(), '-j', '1'], ['a', 'b', 'c']);
    await waitFor(() => b.count('start') > 0, 30_000, 'a first job to start');
    await waitFor(() => b.runFiles().length === 2, 10_000, 'the run to register');
    const ps = await b.ctl(['ps']);
    expect(ps.stdout).toMatch(/running 1, queued 2, at most 1 at once,/);
    const rows = JSON.parse((await b.ctl(['ps', '--json'])).stdout) as object[];
    expect(rows[0]).toMatchObject({ workers: 1, remote: true });
    // the worker has 3 slots: without the limit the others would have started at once
    await sleep(1500);
    expect(b.count('start')).toBe(1);
    b.release();
    const r = await b.result!;
    expect(r.code, r.stderr).toBe(0);
    expect(header(r.stderr)).toMatch(/^jobrun: 3 jobs, at most 1 at once, logs in /);
    expect(b.events()).toHaveLength(6);
    expect(mostAtOnce(b.events())).toBe(1);
  });

  it("without -j the run takes the workers' slots, and says so instead of the coordinator's CPUs", async () => {
    const b = batch();
    await startWorker(url(), ['-j', '3'], b.dir);
    const report = `${b.dir}/report.json`;
    void b.start(['--backend', url(), '--report', report], ['a', 'b', 'c']);
    await b.started('a', 'b', 'c');
    await waitFor(() => b.runFiles().length === 2, 10_000, 'the run to register');
    const ps = await b.ctl(['ps']);
    expect(ps.stdout).toMatch(/running 3, queued 0, on the Redis workers' slots,/);
    b.release();
    const r = await b.result!;
    expect(r.code, r.stderr).toBe(0);
    expect(header(r.stderr)).toMatch(/^jobrun: 3 jobs, on the Redis workers' slots, logs in /);
    // the report's 0 workers is the absent limit, not a run with no worker
    expect(JSON.parse(fs.readFileSync(report, 'utf8'))).toMatchObject({ workers: 0, remote: true });
  });

  it('-j 2:3 (a range) limits a Redis run to its max; --resume -j 1 sets the limit again', async () => {
    const b = batch();
    await startWorker(url(), ['-j', '3'], b.dir);
    void b.start(['--backend', url(), '-j', '2:3'], ['a', 'b', 'c']);
    await b.started('a', 'b', 'c');
    b.child!.kill('SIGINT');
    const first = await b.result!;
    expect(header(first.stderr)).toMatch(/^jobrun: 3 jobs, at most 3 at once, /);
    fs.rmSync(`${b.dir}/events`);
    void b.start(['--backend', url(), '-j', '1', '--resume'], ['a', 'b', 'c']);
    await waitFor(() => b.count('start') > 0, 30_000, 'a first job to start');
    await sleep(1500);
    expect(b.count('start')).toBe(1);
    b.release();
    const r = await b.result!;
    expect(r.code, r.stderr).toBe(0);
    expect(header(r.stderr)).toMatch(/^jobrun: 3 jobs, at most 1 at once, /);
    expect(mostAtOnce(b.events())).toBe(1);
  });
});
