import fs from 'node:fs';
import { Redis } from 'ioredis';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { BIG_BYTES, storeWriteStarted, writeBigEntryBatch } from './cache-helpers.js';
import { writeResumedNeedBatch } from './cache-resume.js';
import { jobrun, tempDir, waitFor, writeFiles, type Result } from './helpers.js';
import { killWorkers, startWorker, type WorkerProcess } from './redis-helpers.js';

/**
 * `cache: true` on Redis: the worker that takes a job looks it up in its own
 * `--cache-dir`. Every job appends its name to `ran.log` (not an output), so "ran" is
 * what processes did on the worker, not what the report claims.
 */
const enabled = requireRedisOrWarn('test/e2e/redis-cache.test.ts');

const MANIFEST = `version: 1
defaults:
  cache: true
jobs:
  - name: "gz-{stem}"
    for_each: "data/*.txt"
    run: "echo {stem} >> ran.log && mkdir -p out && gzip -c {} > out/{stem}.gz && chmod 640 out/{stem}.gz"
    outputs: ["out/{stem}.gz"]
  - name: total
    needs: ["gz-{stem}"]
    run: "echo total >> ran.log && cat out/*.gz | wc -c"
    inputs: ["out"]
    capture: stdout
  - name: list
    run: "echo list >> ran.log && printf 'x\\\\ny\\\\n'"
    capture: lines
  - name: "per-{item}"
    for_each: { from: list }
    run: "echo per-{item} >> ran.log && echo {item}"
`;

interface Report {
  summary: Record<string, number>;
  jobs: { name: string; status: string; result?: unknown; worker?: string; reason?: string }[];
}

function makeBatch(files: number): string {
  const dir = tempDir('jobrun-redis-cache-');
  const content: Record<string, string> = { 'jobs.yaml': MANIFEST };
  for (let i = 0; i < files; i++) content[`data/f${i}.txt`] = `line ${i}\n`.repeat(20);
  writeFiles(dir, content);
  return dir;
}

/** What ran since the last call (and clears the log). */
function takeRan(dir: string): string[] {
  const log = path.join(dir, 'ran.log');
  const ran = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  fs.rmSync(log, { force: true });
  return ran.sort();
}

describe.runIf(enabled)('cache: true on Redis workers (built bin)', () => {
  let redis: RedisServer;
  const dirs: string[] = [];

  beforeAll(async () => {
    redis = await startRedis();
  });
  // a worker left by a failed test would take the next test's jobs in its own folder
  afterEach(killWorkers);
  afterAll(async () => {
    await redis?.stop();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  const batch = (files: number) => {
    const dir = makeBatch(files);
    dirs.push(dir);
    return dir;
  };

  /** Runs `jobs.yaml` in `dir` on Redis; the report, what ran, and the process's result. */
  async function run(
    dir: string,
    extra: string[] = [],
    code = 0,
  ): Promise<{ report: Report; ran: string[]; r: Result }> {
    const r = await jobrun(['run', 'jobs.yaml', '--backend', redis.url, '--json', ...extra], {
      cwd: dir,
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(code);
    return { report: JSON.parse(r.stdout) as Report, ran: takeRan(dir), r };
  }

  const statuses = (report: Report) =>
    Object.fromEntries(report.jobs.map((j) => [j.name, j.status]));

  it('an unchanged rerun runs nothing and restores deleted outputs from the worker’s cache', async () => {
    const dir = batch(4);
    const worker = await startWorker(redis.url, ['-j', '3'], dir);
    const first = await run(dir);
    expect(first.ran).toHaveLength(8); // 4 gz, total, list, per-x, per-y
    expect(first.r.stderr).not.toContain('cache is not used');
    expect(first.report.summary).toMatchObject({ total: 8, succeeded: 8 });
    // the default is the worker's own folder's .jobrun/cache
    expect(fs.readdirSync(path.join(dir, '.jobrun/cache/entries'))).toHaveLength(8);
    const bytes = fs.readFileSync(path.join(dir, 'out/f1.gz'));
    fs.rmSync(path.join(dir, 'out'), { recursive: true });

    const junit = path.join(dir, 'junit.xml');
    const again = await run(dir, ['--junit', junit]);
    expect(again.ran).toEqual([]);
    expect(again.report.summary).toMatchObject({ total: 8, cached: 8, succeeded: 0 });
    expect(Object.values(statuses(again.report))).toEqual(Array(8).fill('cached'));
    // byte for byte, with its mode, restored on the worker's machine
    expect(fs.readFileSync(path.join(dir, 'out/f1.gz'))).toEqual(bytes);
    expect(fs.statSync(path.join(dir, 'out/f1.gz')).mode & 0o777).toBe(0o640);
    // the captured result comes back with the hit; the stage's items are made from it
    const byName = Object.fromEntries(again.report.jobs.map((j) => [j.name, j]));
    expect(byName.total?.result).toBe(first.report.jobs.find((j) => j.name === 'total')?.result);
    expect(byName.list?.result).toEqual(['x', 'y']);
    expect(byName['per-y']?.status).toBe('cached');
    expect(byName.total?.worker).toContain(`:${worker.pid}/`);
    expect(byName.total?.reason).toMatch(/^unchanged since /);
    const xml = fs.readFileSync(junit, 'utf8');
    expect(xml).toContain('tests="8"');
    expect(xml).toContain('failures="0"');
    expect(worker.stderr()).toContain('cached gz-f1: unchanged since');

    // one changed input: exactly its job and the job that needs it run, and --explain says why
    fs.appendFileSync(path.join(dir, 'data/f2.txt'), 'more\n');
    const changed = await run(dir, ['--explain']);
    expect(changed.ran).toEqual(['f2', 'total']);
    expect(changed.report.summary).toMatchObject({ cached: 6, succeeded: 2 });
    expect(changed.r.stderr).toContain('gz-f2 runs: input data/f2.txt: content changed');
    expect(changed.r.stderr).toContain('total runs: input out/f2.gz: content changed');
    expect(changed.r.stderr).not.toContain('gz-f1 runs');
    // the event stream says it as locally: no job_start, a job_end with status cached
    const events = await jobrun(['run', 'jobs.yaml', '--backend', redis.url, '--events'], {
      cwd: dir,
      timeoutMs: 120_000,
    });
    expect(events.code, events.stderr).toBe(0);
    const lines = events.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; job?: { status: string } });
    expect(lines.filter((e) => e.type === 'job_start')).toEqual([]);
    const ends = lines.filter((e) => e.type === 'job_end').map((e) => e.job?.status);
    expect(ends).toEqual(Array(8).fill('cached'));
    expect(takeRan(dir)).toEqual([]);
    worker.child.kill('SIGKILL');
    await worker.exited;
  }, 300_000);

  it('two workers with their own --cache-dir: a hit only on the worker whose cache has the entry', async () => {
    const dir = batch(2);
    const cacheA = path.join(dir, 'cache-a');
    const cacheB = path.join(dir, 'cache-b');
    const only = ['--only', 'gz-*'];
    writeFiles(dir, { 'jobs.yaml': MANIFEST.slice(0, MANIFEST.indexOf('  - name: list')) });
    const serve = (cache: string) => startWorker(redis.url, ['--cache-dir', cache], dir);
    const stop = async (w: WorkerProcess) => {
      w.child.kill('SIGTERM');
      expect(await w.exited).toBe(0);
    };

    let a = await serve(cacheA);
    expect((await run(dir, only)).ran).toEqual(['f0', 'f1']);
    await stop(a);
    // B's cache has nothing: the jobs run there, whatever A stored
    const b = await serve(cacheB);
    const onB = await run(dir, only);
    expect(onB.ran).toEqual(['f0', 'f1']);
    expect(onB.report.summary).toMatchObject({ succeeded: 2 });
    // the run's own folder is no worker's cache: nothing was stored beside the manifest
    expect(fs.existsSync(path.join(dir, '.jobrun/cache'))).toBe(false);
    const hitOnB = await run(dir, only);
    expect(hitOnB.ran).toEqual([]);
    expect(hitOnB.report.jobs.find((j) => j.name === 'gz-f0')?.worker).toContain(`:${b.pid}/`);
    await stop(b);
    a = await serve(cacheA);
    const hitOnA = await run(dir, only);
    expect(hitOnA.ran).toEqual([]);
    expect(hitOnA.report.summary).toMatchObject({ cached: 2 });
    expect(hitOnA.report.jobs.find((j) => j.name === 'gz-f1')?.worker).toContain(`:${a.pid}/`);
    await stop(a);
  }, 300_000);

  it('never caches a failed job, and says on the coordinator what a worker could not store', async () => {
    const dir = tempDir('jobrun-redis-cache-');
    dirs.push(dir);
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: flaky
    run: "echo flaky >> ran.log; test -f ok"
    cache: true
  - name: forgetful
    run: "echo forgetful >> ran.log"
    cache: true
    outputs: ["never.txt"]
`,
    });
    const worker = await startWorker(redis.url, ['-j', '2'], dir);
    const first = await run(dir, [], 1);
    expect(first.ran).toEqual(['flaky', 'forgetful']);
    expect(statuses(first.report)).toEqual({ flaky: 'failed', forgetful: 'succeeded' });
    expect(first.r.stderr).toMatch(
      /forgetful: not cached: output never\.txt was never produced \(on [^)]+:\d+\/\d\)/,
    );
    const second = await run(dir, [], 1);
    expect(second.ran).toEqual(['flaky', 'forgetful']);
    expect(statuses(second.report).flaky).toBe('failed');
    // now it succeeds: stored, and the next run restores it
    fs.writeFileSync(path.join(dir, 'ok'), '');
    expect((await run(dir)).ran).toEqual(['flaky', 'forgetful']);
    const third = await run(dir);
    expect(third.ran).toEqual(['forgetful']);
    expect(statuses(third.report)).toEqual({ flaky: 'cached', forgetful: 'succeeded' });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    // a worker told --no-cache runs them, whatever its folder holds
    const plain = await startWorker(redis.url, ['--no-cache'], dir);
    expect(plain.stderr()).toContain('; no cache');
    expect((await run(dir)).ran).toEqual(['flaky', 'forgetful']);
  }, 300_000);
  it('workers sharing one --cache-dir share hits, for an ad-hoc --cache run too; --cache-max evicts there', async () => {
    const dir = batch(6);
    const shared = path.join(dir, 'shared-cache');
    const adHoc = (extra: string[] = [], glob = 'data/*.txt') =>
      jobrun(
        [
          'run',
          '--backend',
          redis.url,
          '--json',
          '--cache',
          '--glob',
          glob,
          '--cache-output',
          'out/{stem}.gz',
          ...extra,
          '--',
          'sh',
          '-c',
          'echo "$1" >> ran.log && mkdir -p out && gzip -c "$1" > out/"$2".gz',
          'sh',
          '{}',
          '{stem}',
        ],
        { cwd: dir, timeoutMs: 120_000 },
      );
    const one = await startWorker(redis.url, ['-j', '2', '--cache-dir', shared], dir);
    const two = await startWorker(redis.url, ['-j', '2', '--cache-dir', shared], dir);
    const first = await adHoc();
    expect(first.code, first.stderr).toBe(0);
    expect(takeRan(dir)).toHaveLength(6);
    expect(fs.readdirSync(path.join(shared, 'entries'))).toHaveLength(6);
    expect(fs.readdirSync(path.join(shared, 'tmp'))).toEqual([]);
    const gz = fs.readFileSync(path.join(dir, 'out/f3.gz'));
    // one worker left, with a size limit: it hits what either stored
    one.child.kill('SIGTERM');
    expect(await one.exited).toBe(0);
    two.child.kill('SIGTERM');
    expect(await two.exited).toBe(0);
    const small = await startWorker(redis.url, ['--cache-dir', shared, '--cache-max', '1'], dir);
    fs.rmSync(path.join(dir, 'out'), { recursive: true });
    const second = await adHoc(['--cache-dir', path.join(dir, 'unused')]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('--cache-dir and --cache-max are not used on Redis');
    expect(takeRan(dir)).toEqual([]);
    expect((JSON.parse(second.stdout) as Report).summary).toMatchObject({ cached: 6 });
    expect(fs.readFileSync(path.join(dir, 'out/f3.gz'))).toEqual(gz);
    expect(fs.existsSync(path.join(dir, 'unused'))).toBe(false);
    // a store makes the worker apply --cache-max: 1 byte keeps no entry. One job only:
    // the eviction right after its store would make the run's jobs looked up later miss
    fs.appendFileSync(path.join(dir, 'data/f0.txt'), 'more\n');
    const third = await adHoc([], 'data/f0.txt');
    expect(third.code, third.stderr).toBe(0);
    expect(takeRan(dir)).toEqual(['data/f0.txt']);
    await waitFor(
      () => fs.readdirSync(path.join(shared, 'entries')).length === 0,
      30_000,
      'eviction',
    );
    expect(small.stderr()).toContain('--cache-max: dropped 7 cache entries');
  }, 300_000);
  it('keys a job on the key of a need --resume skipped: an unchanged batch is cached afterwards', async () => {
    const dir = tempDir('jobrun-redis-cache-');
    dirs.push(dir);
    const cachedAfterResume = writeResumedNeedBatch(dir, 'exit 1');
    await startWorker(redis.url, [], dir);
    // make succeeds, use fails: --resume skips make and enqueues use again, keyed on
    // the key make came back with in the run it resumes
    expect((await run(dir, [], 1)).ran).toEqual(['make', 'use']);
    await cachedAfterResume((extra) => run(dir, extra));
  }, 120_000);

  it('a need --resume skipped whose key Redis lost: its dependant runs and is not stored under a key without it', async () => {
    const dir = tempDir('jobrun-redis-cache-');
    dirs.push(dir);
    writeResumedNeedBatch(dir, 'exit 1');
    await startWorker(redis.url, [], dir);
    /** make succeeds and use fails; Redis then loses everything (restarted without persistence). */
    const failThenFlush = async () => {
      fs.rmSync(path.join(dir, 'go'), { force: true });
      expect((await run(dir, [], 1)).ran).toEqual(['make', 'use']);
      const conn = new Redis(redis.url);
      await conn.flushall();
      conn.disconnect();
      fs.writeFileSync(path.join(dir, 'go'), '');
    };
    await failThenFlush();
    expect((await run(dir, ['--resume'])).ran).toEqual(['use']);
    // make's input changes: use, run again after a resume that lost make's key again,
    // copies the new a.out, never the b.out stored from the old one
    fs.writeFileSync(path.join(dir, 'in.txt'), 'two\n');
    await failThenFlush();
    const resumed = await run(dir, ['--resume']);
    expect(resumed.ran).toEqual(['use']);
    expect(fs.readFileSync(path.join(dir, 'b.out'), 'utf8')).toBe('two\n');
    expect(resumed.r.stderr).toContain('use: not cached: the key of its need make is lost');
  }, 120_000);

  it('an entry cut short by kill -9 of its worker while storing is never used; the job runs again elsewhere', async () => {
    const dir = tempDir('jobrun-redis-cache-');
    dirs.push(dir);
    const shared = path.join(dir, 'shared');
    writeBigEntryBatch(dir);
    const lock = ['--lock-duration', '2s', '--cache-dir', shared];
    const a = await startWorker(redis.url, lock, dir);
    const pending = run(dir);
    // kill -9 as soon as the output is being copied into the store
    await storeWriteStarted(shared);
    a.child.kill('SIGKILL');
    await a.exited;
    expect(fs.existsSync(path.join(shared, 'entries'))).toBe(false);
    fs.writeFileSync(path.join(dir, 'big.bin'), 'not the output');
    const b = await startWorker(redis.url, lock, dir);
    const { report, ran } = await pending;
    expect(ran).toEqual(['big', 'big']);
    expect(report.jobs[0]).toMatchObject({ status: 'succeeded' });
    expect(report.jobs[0]?.worker).toContain(`:${b.pid}/`);
    expect(fs.statSync(path.join(dir, 'big.bin')).size).toBe(BIG_BYTES);
    // what B stored is whole: the next run restores it
    fs.rmSync(path.join(dir, 'big.bin'));
    const again = await run(dir);
    expect(again.ran).toEqual([]);
    expect(fs.statSync(path.join(dir, 'big.bin')).size).toBe(BIG_BYTES);
    fs.rmSync(dir, { recursive: true, force: true }); // 300 MB: not left for the next test
  }, 300_000);
});
