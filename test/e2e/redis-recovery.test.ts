import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';
import {
  Groups,
  killGroup,
  killWorkers,
  manifest,
  parseReport,
  startWorker,
  type WorkerProcess,
} from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-recovery.test.ts');

interface Interval {
  name: string;
  process: string;
  from: number;
  to: number;
}

/** Each attempt's span on its worker process (`host:pid`, the slot dropped), from --events. */
function attemptSpans(stdout: string): Interval[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; name: string; result?: Record<string, number> })
    .filter((e) => e.type === 'attempt_end' && e.result)
    .map((e) => {
      // events speak the report's vocabulary: ISO start times
      const r = e.result as unknown as { worker: string; startedAt: string; durationMs: number };
      const from = Date.parse(r.startedAt);
      return {
        name: e.name,
        process: r.worker.replace(/\/\d+$/, ''),
        from,
        to: from + r.durationMs,
      };
    });
}

/** The most attempts of `names` that ran at once on one worker process. */
function mostAtOnce(spans: Interval[], names: RegExp): number {
  const mine = spans.filter((s) => names.test(s.name));
  let most = 0;
  for (const s of mine) {
    // 50 ms of slack: a slot is handed on as the previous attempt's end is measured
    const at = mine.filter(
      (o) => o.process === s.process && o.from <= s.from && o.to - 50 > s.from,
    );
    most = Math.max(most, at.length);
  }
  return most;
}

/** The worker among `workers` whose process tree holds `pid` (a job's shell). */
function ownerOf(pid: number, workers: WorkerProcess[]): WorkerProcess | undefined {
  let at = pid;
  for (let depth = 0; depth < 5 && at > 1; depth++) {
    const owner = workers.find((w) => w.pid === at);
    if (owner) return owner;
    const stat = fs.readFileSync(`/proc/${at}/stat`, 'utf8');
    at = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  }
  return undefined;
}

describe.runIf(enabled)(
  'Redis recovery and per-worker caps (built bin)',
  { timeout: 180_000 },
  () => {
    let redis: RedisServer;
    let dir: string;
    const groups = new Groups();

    beforeAll(async () => {
      redis = await startRedis();
      dir = tempDir('jobrun-redis-recovery-');
    });
    afterEach(async () => {
      groups.killAll();
      await killWorkers();
    });
    afterAll(async () => {
      await redis?.stop();
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    it('per_worker in the manifest and --pool name=n on a worker cap a pool on each worker; events show it', async () => {
      const cwd = path.join(dir, 'caps');
      const jobs = [1, 2, 3, 4].flatMap((i) => [
        { name: `cpu${i}`, run: 'sleep 0.5', extra: ['pool: cpu'] },
        { name: `gpu${i}`, run: 'sleep 0.5', extra: ['pool: gpu'] },
      ]);
      writeFiles(cwd, {
        'm.yaml': manifest(jobs, ['pools:', '  cpu: { per_worker: 1 }', '  gpu: { workers: 4 }']),
      });
      await startWorker(redis.url, ['-j', '4', '--pool', 'cpu,gpu=1'], cwd);
      const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--events'], {
        cwd,
        timeoutMs: 90_000,
      });
      expect(r.code, r.stderr).toBe(0);
      const spans = attemptSpans(r.stdout);
      expect(spans).toHaveLength(8);
      expect(mostAtOnce(spans, /^cpu/)).toBe(1);
      expect(mostAtOnce(spans, /^gpu/)).toBe(1);
      // the worker's -j still lets the two pools run side by side
      expect(mostAtOnce(spans, /^(cpu|gpu)/)).toBe(2);
    });

    it('--results on Redis has each job’s stdout and stderr, from its last attempt', async () => {
      const cwd = path.join(dir, 'results');
      writeFiles(cwd, {
        'm.yaml': manifest([
          { name: 'both', run: 'echo out1; echo err1 >&2; echo out2' },
          {
            name: 'retried',
            run: `echo try >> ${cwd}/tries; echo "attempt $(wc -l < ${cwd}/tries)"; [ "$(wc -l < ${cwd}/tries)" -ge 2 ]`,
            extra: ['retries: 1', 'backoff: { delay: 100ms, jitter: false }'],
          },
          { name: 'quiet', run: 'true' },
        ]),
      });
      await startWorker(redis.url, ['-j', '2'], cwd);
      const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--results', 'out'], {
        cwd,
        timeoutMs: 90_000,
      });
      expect(r.code, r.stderr).toBe(0);
      const read = (job: string, file: string) => fs.readFileSync(path.join(cwd, 'out', job, file));
      expect(read('1-both', 'stdout').toString()).toBe('out1\nout2\n');
      expect(read('1-both', 'stderr').toString()).toBe('err1\n');
      expect(read('2-retried', 'stdout').toString()).toBe('attempt 2\n');
      expect(read('3-quiet', 'stdout').toString()).toBe('');
      expect(JSON.parse(read('1-both', 'meta.json').toString())).toMatchObject({
        status: 'succeeded',
      });
    });

    it('a worker killed with kill -9 mid-job: another takes the job over within 15 s; the report says it was lost with its worker', async () => {
      const cwd = path.join(dir, 'takeover');
      // first attempt hangs; a second one (the take-over) succeeds at once
      const run = 'echo $$ >> starts; [ "$(wc -l < starts)" -ge 2 ] || sleep 60';
      writeFiles(cwd, {
        'm.yaml': manifest([
          { name: 'victim', run, extra: ['retries: 0'] },
          { name: 'once', run: `echo $$ >> once.starts; sleep 60`, extra: ['lost_retries: 0'] },
        ]),
      });
      // one job each on two of them; the third is idle and takes over
      const workers: WorkerProcess[] = [];
      for (let i = 0; i < 3; i++) workers.push(await startWorker(redis.url, ['-j', '1'], cwd));
      const done = jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], {
        cwd,
        timeoutMs: 120_000,
      });
      const first = Number(
        await waitFor(() => readLines(path.join(cwd, 'starts'))[0], 60_000, 'a start'),
      );
      const once = Number(
        await waitFor(() => readLines(path.join(cwd, 'once.starts'))[0], 60_000, 'once'),
      );
      groups.push(first, once);
      const owners = [ownerOf(first, workers), ownerOf(once, workers)];
      expect(owners[0]).toBeDefined();
      expect(owners[1]).toBeDefined();
      const killedAt = Date.now();
      for (const owner of owners) owner!.child.kill('SIGKILL');
      killGroup(first);
      killGroup(once);
      await waitFor(() => readLines(path.join(cwd, 'starts')).length >= 2, 30_000, 'the take-over');
      const tookMs = Date.now() - killedAt;
      expect(tookMs).toBeLessThan(15_000);
      const report = parseReport((await done).stdout);
      const victim = report.jobs.find((j) => j.name === 'victim');
      expect(victim?.status).toBe('succeeded');
      expect(victim?.attempts).toHaveLength(2);
      expect(victim?.attempts[0]?.error).toMatch(/^lost: with its worker \S+:\d+\/\d+/);
      // lost_retries: 0 — lost once, never run again, and the report says why
      const onceJob = report.jobs.find((j) => j.name === 'once');
      expect(onceJob?.status).toBe('failed');
      expect(readLines(path.join(cwd, 'once.starts'))).toHaveLength(1);
      expect(JSON.stringify(onceJob?.attempts)).toMatch(
        /lost with its worker 1 times \(lost_retries: 0\)/,
      );
    });
  },
);
