import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIG_BYTES, storeWriteStarted, writeBigEntryBatch } from './cache-helpers.js';
import { writeResumedNeedBatch } from './cache-resume.js';
import { BIN, jobrun, readLines, tempDir, waitFor, writeFiles, type Result } from './helpers.js';

/**
 * Incremental batches end to end: every job appends its name to `ran.log` (not an
 * output), so "ran" is what processes did, not what the report claims.
 */
const MANIFEST = `version: 1
defaults:
  cache: true
jobs:
  - name: "gz-{stem}"
    for_each: "data/*.txt"
    run: "echo {stem} >> ran.log && mkdir -p out && gzip -c {} > out/{stem}.gz"
    outputs: ["out/{stem}.gz"]
  - name: total
    needs: ["gz-{stem}"]
    run: "echo total >> ran.log && cat out/*.gz | wc -c"
    inputs: ["out"]
    capture: stdout
`;

interface Report {
  runId: string;
  summary: Record<string, number>;
  jobs: { name: string; status: string; result?: unknown }[];
}

function makeBatch(files: number): string {
  const dir = tempDir('jobrun-cache-');
  const content: Record<string, string> = { 'jobs.yaml': MANIFEST };
  for (let i = 0; i < files; i++) content[`data/f${i}.txt`] = `line ${i}\n`.repeat(20);
  writeFiles(dir, content);
  return dir;
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Gives every data file of `dir` one modification time (gzip stamps it into the .gz); returns `dir`. */
function sameTimes(dir: string, when = new Date('2020-01-01T00:00:00Z')): string {
  for (const name of fs.readdirSync(path.join(dir, 'data')))
    fs.utimesSync(path.join(dir, 'data', name), when, when);
  return dir;
}

/** A folder whose jobs.yaml has one cached job, `fields` its YAML after `- ` (4 spaces in); plus `files`. */
function oneCachedJob(fields: string, files: Record<string, string> = {}): string {
  const dir = tempDir('jobrun-cache-');
  writeFiles(dir, { 'jobs.yaml': `version: 1\njobs:\n  - cache: true\n    ${fields}\n`, ...files });
  return dir;
}

/** Runs the manifest; returns the report and the jobs that actually ran (and clears the log). */
/**
 * `--resume` of a cached run, made in three runs of `dir`'s jobs.yaml: all stored; then with
 * a file `fail`, on which its gate job fails (the jobs after it are skipped); then, `fail`
 * gone and `beforeResume` done, `--resume --explain`, which succeeds. Returns that last run.
 */
async function storeStopResume(
  dir: string,
  beforeResume = () => {},
): Promise<{ r: Result; report: Report }> {
  const run = (extra: string[]) =>
    jobrun(['run', 'jobs.yaml', '--output', 'none', '--json', ...extra], { cwd: dir });
  expect((await run([])).code).toBe(0);
  fs.writeFileSync(path.join(dir, 'fail'), '');
  expect((await run([])).code).toBe(1);
  fs.rmSync(path.join(dir, 'fail'));
  beforeResume();
  const r = await run(['--resume', '--explain']);
  expect(r.code, r.stderr).toBe(0);
  return { r, report: JSON.parse(r.stdout) as Report };
}

async function runBatch(
  dir: string,
  extra: string[] = [],
): Promise<{ report: Report; ran: string[]; r: Result }> {
  const r = await jobrun(['run', 'jobs.yaml', '--json', '-j', '4', ...extra], {
    cwd: dir,
    timeoutMs: 120_000,
  });
  expect(r.code, r.stderr).toBe(0);
  const log = path.join(dir, 'ran.log');
  const ran = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  fs.rmSync(log, { force: true });
  return { report: JSON.parse(r.stdout) as Report, ran: ran.sort(), r };
}

describe('cache: true', () => {
  it('reruns nothing unchanged, nothing merely touched, and exactly the changed jobs and their dependants', async () => {
    const dir = makeBatch(300);
    const first = await runBatch(dir);
    expect(first.ran).toHaveLength(301);
    const before = fs.readFileSync(path.join(dir, 'out/f7.gz'));

    const unchanged = await runBatch(dir);
    expect(unchanged.ran).toEqual([]);
    expect(unchanged.report.summary).toMatchObject({ total: 301, cached: 301, succeeded: 0 });
    // the captured result comes back with the hit
    const total = unchanged.report.jobs.find((j) => j.name === 'total');
    expect(total?.result).toBe(first.report.jobs.find((j) => j.name === 'total')?.result);

    // new times, same bytes: no job runs
    const later = new Date(Date.now() + 60_000);
    for (let i = 0; i < 300; i++) fs.utimesSync(path.join(dir, `data/f${i}.txt`), later, later);
    expect((await runBatch(dir)).ran).toEqual([]);

    for (const i of [3, 150, 299]) fs.appendFileSync(path.join(dir, `data/f${i}.txt`), 'more\n');
    const changed = await runBatch(dir);
    expect(changed.ran).toEqual(['f150', 'f299', 'f3', 'total']);
    expect(changed.report.summary).toMatchObject({ cached: 297, succeeded: 4 });
    expect(fs.readFileSync(path.join(dir, 'out/f7.gz'))).toEqual(before);
  }, 300_000);

  it('restores deleted outputs byte for byte, with their modes, without running', async () => {
    const dir = makeBatch(3);
    await runBatch(dir);
    const gz = path.join(dir, 'out/f1.gz');
    const bytes = fs.readFileSync(gz);
    fs.rmSync(path.join(dir, 'out'), { recursive: true });
    const again = await runBatch(dir);
    expect(again.ran).toEqual([]);
    expect(fs.readFileSync(gz)).toEqual(bytes);
    expect(fs.readdirSync(path.join(dir, 'out')).sort()).toEqual(['f0.gz', 'f1.gz', 'f2.gz']);

    writeFiles(dir, {
      'tool.yaml': `version: 1
jobs:
  - name: tool
    run: "echo tool >> ran.log && mkdir -p bin && printf '#!/bin/sh\\n' > bin/tool && chmod 750 bin/tool"
    cache: true
    outputs: ["bin/*"]
`,
    });
    const tool = async () => {
      const r = await jobrun(['run', 'tool.yaml'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
    };
    await tool();
    fs.rmSync(path.join(dir, 'bin'), { recursive: true });
    fs.rmSync(path.join(dir, 'ran.log'));
    await tool();
    expect(fs.existsSync(path.join(dir, 'ran.log'))).toBe(false);
    expect(fs.statSync(path.join(dir, 'bin/tool')).mode & 0o777).toBe(0o750);
  }, 120_000);

  it('explains a miss by the input that changed, in explain and with --explain', async () => {
    const dir = makeBatch(3);
    await runBatch(dir);
    fs.writeFileSync(path.join(dir, 'data/f2.txt'), 'other\n');
    const said = await jobrun(['explain', 'jobs.yaml', 'gz-f2'], { cwd: dir });
    expect(said.code, said.stderr).toBe(0);
    expect(said.stdout).toContain('gz-f2: runs\n  input data/f2.txt: content changed');
    const json = await jobrun(['explain', '--json', 'jobs.yaml', 'gz-*'], { cwd: dir });
    const verdicts = (JSON.parse(json.stdout) as { jobs: { name: string; verdict: string }[] })
      .jobs;
    expect(verdicts.map((j) => `${j.name} ${j.verdict}`)).toEqual([
      'gz-f0 hit',
      'gz-f1 hit',
      'gz-f2 miss',
    ]);
    const run = await runBatch(dir, ['--explain']);
    expect(run.r.stderr).toContain('gz-f2 runs: input data/f2.txt: content changed');
    expect(run.r.stderr).toContain('total runs: input out/f2.gz: content changed');
  }, 120_000);

  it('never uses an entry cut short or a damaged blob: the job runs and its output is right', async () => {
    const dir = makeBatch(2);
    await runBatch(dir);
    const cache = path.join(dir, '.jobrun/cache');
    const entries = fs.readdirSync(path.join(cache, 'entries'));
    // what a kill -9 in the middle of a write would leave if writes were not atomic
    for (const name of entries) {
      const file = path.join(cache, 'entries', name);
      const text = fs.readFileSync(file, 'utf8');
      fs.writeFileSync(file, text.slice(0, text.length >> 1));
    }
    fs.rmSync(path.join(dir, 'out'), { recursive: true });
    const again = await runBatch(dir);
    expect(again.ran).toEqual(['f0', 'f1', 'total']);
    // now damage the blobs (same size, other bytes): a restore must not trust them
    for (const blob of fs.readdirSync(path.join(cache, 'blobs'))) {
      const file = path.join(cache, 'blobs', blob);
      const bytes = fs.readFileSync(file);
      fs.writeFileSync(file, Buffer.alloc(bytes.length, 0x41));
    }
    fs.rmSync(path.join(dir, 'out'), { recursive: true });
    const third = await runBatch(dir);
    expect(third.ran).toContain('f0');
    const gz = fs.readFileSync(path.join(dir, 'out/f0.gz'));
    expect(gz[0]).toBe(0x1f); // gzip magic, not the damaged bytes
  }, 120_000);

  it('an entry cut short by kill -9 while it is stored is never used', async () => {
    const dir = tempDir('jobrun-cache-');
    writeBigEntryBatch(dir);
    let killed = false;
    let pid: number | undefined;
    const r = await jobrun(['run', 'jobs.yaml'], {
      cwd: dir,
      timeoutMs: 120_000,
      onSpawn: (child) => {
        pid = child.pid;
        // kill -9 as soon as the output is being copied into the store
        void storeWriteStarted(path.join(dir, '.jobrun/cache')).then(
          () => (killed = child.kill('SIGKILL')),
        );
      },
    });
    expect(killed, r.stderr).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    const entries = path.join(dir, '.jobrun/cache/entries');
    expect(fs.existsSync(entries) ? fs.readdirSync(entries) : []).toEqual([]);
    // the write cut short is left in tmp/ under the dead pid's name
    const temps = path.join(dir, '.jobrun/cache/tmp');
    const left = fs.readdirSync(temps);
    expect(left.some((name) => name.includes(`.${pid}.`))).toBe(true);
    // as if written two minutes ago: a dead writer's file is only removed once quiet
    const quiet = new Date(Date.now() - 120_000);
    for (const name of left) fs.utimesSync(path.join(temps, name), quiet, quiet);
    fs.writeFileSync(path.join(dir, 'big.bin'), 'not the output');
    fs.rmSync(path.join(dir, 'ran.log'));
    const again = await jobrun(['run', 'jobs.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'ran.log'), 'utf8')).toBe('big\n');
    expect(fs.statSync(path.join(dir, 'big.bin')).size).toBe(BIG_BYTES);
    // the next run removed it: its writer is dead
    expect(fs.readdirSync(temps)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true }); // 300 MB: not left for the next test
  }, 240_000);

  it('a restore cut short by kill -9 leaves no file among the outputs once its writer is gone', async () => {
    const dir = tempDir('jobrun-cache-');
    writeBigEntryBatch(dir);
    const first = await jobrun(['run', 'jobs.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    fs.rmSync(path.join(dir, 'big.bin'));
    const restoring = () =>
      fs.readdirSync(dir).filter((name) => name.startsWith('.jobrun-restore'));
    let killed = false;
    const r = await jobrun(['run', 'jobs.yaml'], {
      cwd: dir,
      timeoutMs: 120_000,
      onSpawn: (child) => {
        // kill -9 as soon as the output is being copied back beside its place
        void waitFor(() => restoring().length > 0, 100_000, 'a restore').then(
          () => (killed = child.kill('SIGKILL')),
        );
      },
    });
    expect(killed, r.stderr).toBe(true);
    expect(r.signal).toBe('SIGKILL');
    const left = restoring();
    expect(left).toHaveLength(1);
    // as if cut short two minutes ago: a dead writer's file is only removed once quiet
    const quiet = new Date(Date.now() - 120_000);
    fs.utimesSync(path.join(dir, left[0]!), quiet, quiet);
    const again = await jobrun(['run', 'jobs.yaml', '--json'], { cwd: dir, timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect((JSON.parse(again.stdout) as Report).summary).toMatchObject({ cached: 1 });
    expect(fs.statSync(path.join(dir, 'big.bin')).size).toBe(BIG_BYTES);
    expect(restoring()).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true }); // 200 MB: not left for the next test
  }, 240_000);

  it('a blob evicted by another run while its entry is restored makes a miss, not a failed check', async () => {
    const dir = oneCachedJob(`name: two
    run: "echo two >> ran.log && head -c ${BIG_BYTES} /dev/urandom > big.bin && echo small > small.txt"
    outputs: [big.bin, small.txt]`);
    const cache = path.join(dir, '.jobrun/cache');
    const first = await jobrun(['run', 'jobs.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect(first.code, first.stderr).toBe(0);
    const small = path.join(cache, 'blobs', sha256(fs.readFileSync(path.join(dir, 'small.txt'))));
    expect(fs.existsSync(small)).toBe(true);
    fs.rmSync(path.join(dir, 'big.bin'));
    fs.rmSync(path.join(dir, 'small.txt'));
    fs.rmSync(path.join(dir, 'ran.log'));
    // big.bin is restored first; while it is, the other output's blob goes (an eviction)
    const restoring = () => fs.readdirSync(dir).some((name) => name.startsWith('.jobrun-restore'));
    const r = await jobrun(['run', 'jobs.yaml', '--explain'], {
      cwd: dir,
      timeoutMs: 120_000,
      onSpawn: () => void waitFor(restoring, 100_000, 'a restore').then(() => fs.rmSync(small)),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(small)).toBe(true); // stored again
    expect(r.stderr).not.toContain('could not be checked');
    expect(r.stderr).toContain('two runs: its cache entry lost stored outputs');
    expect(readLines(path.join(dir, 'ran.log'))).toEqual(['two']);
    expect(fs.readFileSync(path.join(dir, 'small.txt'), 'utf8')).toBe('small\n');
    fs.rmSync(dir, { recursive: true, force: true }); // 200 MB: not left for the next test
  }, 240_000);

  /** Runs the batches in `dirs` at once, each with `--cache-dir shared`; each must succeed. */
  async function bothAtOnce(dirs: string[], shared: string): Promise<void> {
    const runs = await Promise.all(
      dirs.map((dir) =>
        jobrun(['run', 'jobs.yaml', '--json', '-j', '3', '--cache-dir', shared], {
          cwd: dir,
          timeoutMs: 120_000,
        }),
      ),
    );
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
  }

  it('two runs sharing one --cache-dir at once both finish with correct outputs', async () => {
    const shared = tempDir('jobrun-shared-cache-');
    // gzip stamps each .gz with its file's modification time: folders written a second
    // apart make other bytes for the same key, and a third run may then restore some
    // outputs of each run, a mix whose `total` neither stored (a miss: see the next test).
    // Here the outputs are the same bytes in every folder, as a reproducible build's are.
    const a = sameTimes(makeBatch(40));
    const b = sameTimes(makeBatch(40));
    await bothAtOnce([a, b], shared);
    for (const dir of [a, b]) {
      for (let i = 0; i < 40; i++) {
        const gz = fs.readFileSync(path.join(dir, `out/f${i}.gz`));
        expect(gz[0]).toBe(0x1f);
      }
    }
    expect(fs.readdirSync(path.join(shared, 'tmp'))).toEqual([]);
    // and a third folder is served entirely from what they stored
    const c = sameTimes(makeBatch(40));
    const third = await runBatch(c, ['--cache-dir', shared]);
    expect(third.ran).toEqual([]);
    expect(fs.readFileSync(path.join(c, 'out/f5.gz'))).toEqual(
      fs.readFileSync(path.join(a, 'out/f5.gz')),
    );
  }, 180_000);

  it('two runs at once whose outputs differ: a third run reruns just `total`, and only when it restored some outputs of each', async () => {
    const shared = tempDir('jobrun-shared-cache-');
    // the same inputs, other bytes out: gzip stamps the .gz with its file's time. Each
    // run stores its own outputs under the same keys, the last store of each job wins,
    // so a third run may restore a mix whose `total` key neither run stored: a miss,
    // never a wrong hit (its key is the contents it sees).
    const a = sameTimes(makeBatch(40), new Date('2020-01-01T00:00:00Z'));
    const b = sameTimes(makeBatch(40), new Date('2021-01-01T00:00:00Z'));
    await bothAtOnce([a, b], shared);
    const c = makeBatch(40);
    const third = await runBatch(c, ['--cache-dir', shared]);
    const outs = (dir: string) =>
      Array.from({ length: 40 }, (_, i) => fs.readFileSync(path.join(dir, `out/f${i}.gz`)));
    const [fromA, fromB, restored] = [outs(a), outs(b), outs(c)];
    // every gz job is a hit: its key is its file's contents, the same in all three
    restored.forEach((gz, i) => expect([fromA[i], fromB[i]]).toContainEqual(gz));
    // `total` was stored for the outputs a and b each ended with: it hits those, no others
    const asStored = [fromA, fromB].some((run) => run.every((gz, i) => gz.equals(restored[i]!)));
    expect(third.ran).toEqual(asStored ? [] : ['total']);
  }, 180_000);

  it('stores nothing for a job whose input changed while it ran: the old input never restores the new output', async () => {
    // it reads its input only once the test lets it (at most 60 s)
    const dir = oneCachedJob(
      `name: copy
    run: "echo copy >> ran.log; touch started; i=0; while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; cat in.txt > out.txt"
    inputs: [in.txt]
    outputs: [out.txt]`,
      { 'in.txt': 'old\n' },
    );
    const first = jobrun(['run', 'jobs.yaml'], { cwd: dir, timeoutMs: 120_000 });
    // keyed on `old` before it started; it reads `new`
    await waitFor(() => fs.existsSync(path.join(dir, 'started')), 60_000, 'the job to start');
    fs.writeFileSync(path.join(dir, 'in.txt'), 'new\n');
    fs.writeFileSync(path.join(dir, 'go'), '');
    const r = await first;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'copy: not cached: its inputs changed while it ran (input in.txt: content changed)',
    );
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('new\n');

    fs.writeFileSync(path.join(dir, 'in.txt'), 'old\n');
    fs.rmSync(path.join(dir, 'out.txt'));
    fs.rmSync(path.join(dir, 'ran.log'));
    const again = await jobrun(['run', 'jobs.yaml'], { cwd: dir, timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('old\n');
    expect(readLines(path.join(dir, 'ran.log'))).toEqual(['copy']);
  }, 180_000);

  it('reruns just the jobs whose declared env var, command or symlinked input changed', async () => {
    const dir = tempDir('jobrun-cache-');
    const manifest = (word: string) => `version: 1
defaults:
  cache: true
jobs:
  - name: api
    run: "echo api >> ran.log"
    cache_env: [API_URL]
  - name: say
    run: "echo say >> ran.log; echo ${word}"
  - name: linked
    run: "echo linked >> ran.log"
    inputs: [current]
  - name: after-api
    needs: [api]
    run: "echo after-api >> ran.log"
`;
    writeFiles(dir, { 'jobs.yaml': manifest('hello'), 'v1.txt': 'one', 'v2.txt': 'two' });
    fs.symlinkSync('v1.txt', path.join(dir, 'current'));
    const run = async (env: NodeJS.ProcessEnv = {}) => {
      const r = await jobrun(['run', 'jobs.yaml', '--json'], { cwd: dir, env });
      expect(r.code, r.stderr).toBe(0);
      const log = path.join(dir, 'ran.log');
      const ran = fs.existsSync(log)
        ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean)
        : [];
      fs.rmSync(log, { force: true });
      return ran.sort();
    };
    expect(await run({ API_URL: 'http://a' })).toEqual(['after-api', 'api', 'linked', 'say']);
    expect(await run({ API_URL: 'http://a' })).toEqual([]);
    // a need's key is part of its dependants' keys: what needs a rerun job runs too
    expect(await run({ API_URL: 'http://b' })).toEqual(['after-api', 'api']);
    expect(await run({ API_URL: undefined })).toEqual(['after-api', 'api']);
    writeFiles(dir, { 'jobs.yaml': manifest('bye') });
    expect(await run()).toEqual(['say']);
    fs.rmSync(path.join(dir, 'current'));
    fs.symlinkSync('v2.txt', path.join(dir, 'current'));
    expect(await run()).toEqual(['linked']);
  }, 120_000);

  it('--no-cache runs everything; clean --cache empties the store', async () => {
    const dir = makeBatch(2);
    await runBatch(dir);
    expect((await runBatch(dir, ['--no-cache'])).ran).toEqual(['f0', 'f1', 'total']);
    expect((await runBatch(dir)).ran).toEqual([]);
    // a write cut short by a kill -9 of a run elsewhere
    fs.writeFileSync(path.join(dir, '.jobrun/cache/tmp/other-host.12.0123456789ab'), 'x');
    const clean = await jobrun(['clean', '--cache'], { cwd: dir });
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stderr).toContain('3 cache entries and 1 unfinished cache write');
    expect(fs.existsSync(path.join(dir, '.jobrun/cache'))).toBe(false);
    expect((await runBatch(dir)).ran).toEqual(['f0', 'f1', 'total']);
  }, 120_000);

  it('stores a job’s outputs as it made them, before a dependant that rewrites them starts', async () => {
    const dir = tempDir('jobrun-cache-');
    // an output big enough to take a while to store, and a dependant that rewrites it
    const bytes = 30_000_000;
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: make
    run: "head -c ${bytes} /dev/zero > big.bin"
    cache: true
    outputs: [big.bin]
  - name: shrink
    needs: [make]
    run: "echo short > big.bin"
`,
    });
    await runBatch(dir);
    fs.rmSync(path.join(dir, 'big.bin'));
    const restored = (await runBatch(dir, ['--only', 'make'])).report;
    expect(restored.jobs.find((j) => j.name === 'make')?.status).toBe('cached');
    // what make made, not what its dependant left
    expect(fs.statSync(path.join(dir, 'big.bin')).size).toBe(bytes);
  }, 120_000);

  it('runs a fan-in again when the results on its stdin changed, though its source is not cached', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: count
    run: "cat n.txt"
    capture: stdout
  - name: sink
    stdin: { from: count }
    run: "echo sink >> ran.log && cat > out.txt"
    cache: true
    outputs: [out.txt]
`,
      'n.txt': '1\n',
    });
    const first = await runBatch(dir);
    expect(first.ran).toEqual(['sink']);
    expect((await runBatch(dir)).ran).toEqual([]);
    // explain cannot know what count prints before it runs: it says what it assumes
    const explained = await jobrun(['explain', 'jobs.yaml', 'sink'], { cwd: dir });
    expect(explained.stdout).toContain('sink: restored from the cache');
    expect(explained.stdout).toContain('stdin: as stored, if count prints the same');
    fs.writeFileSync(path.join(dir, 'n.txt'), '2\n');
    const changed = await runBatch(dir, ['--explain']);
    expect(changed.ran).toEqual(['sink']);
    expect(changed.r.stderr).toContain('sink runs: stdin: changed');
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toContain('"2\\n"');
  }, 120_000);

  it('keys a job on the key of a need --resume skipped: an unchanged batch is cached afterwards', async () => {
    const dir = tempDir('jobrun-cache-');
    const cachedAfterResume = writeResumedNeedBatch(dir, 'sleep 60');
    const log = path.join(dir, 'ran.log');
    let killed = false;
    const r = await jobrun(['run', 'jobs.yaml'], {
      cwd: dir,
      timeoutMs: 120_000,
      onSpawn: (child) => {
        // kill -9 once use runs: make succeeded, use did not
        const using = () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('use');
        void waitFor(using, 100_000, 'use to start').then(() => (killed = child.kill('SIGKILL')));
      },
    });
    expect(killed, r.stderr).toBe(true);
    fs.rmSync(log);
    await cachedAfterResume((extra) => runBatch(dir, extra));
  }, 120_000);

  it('never counts jobrun’s own .jobrun folder among the inputs: a job keyed on its whole folder hits', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
defaults:
  cache: true
jobs:
  - name: folder
    run: "echo folder >> ../ran-folder.log"
    inputs: ["."]
  - name: glob
    run: "echo glob >> ../ran-glob.log"
    inputs: ["**"]
`,
      'src/a.txt': 'a\n',
    });
    const run = () => runBatch(dir, ['--explain']);
    expect((await run()).report.summary).toMatchObject({ succeeded: 2 });
    const again = await run();
    expect(again.r.stderr).not.toMatch(/(folder|glob) runs/);
    expect(again.report.summary).toMatchObject({ cached: 2 });
    // what is in the folder still counts
    fs.writeFileSync(path.join(dir, 'src/a.txt'), 'b\n');
    const changed = await run();
    expect(changed.report.summary).toMatchObject({ succeeded: 2 });
    expect(changed.r.stderr).toContain('folder runs: input src/a.txt: content changed');
  }, 120_000);

  it('never stores or restores jobrun’s own .jobrun files as outputs of a job whose glob takes them in', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: all
    run: "mkdir -p out && echo made > out/o.txt"
    cache: true
    outputs: ["**"]
`,
    });
    const first = (await runBatch(dir)).report;
    fs.rmSync(path.join(dir, 'out'), { recursive: true });
    const again = (await runBatch(dir)).report;
    expect(again.summary).toMatchObject({ cached: 1 });
    expect(fs.readFileSync(path.join(dir, 'out/o.txt'), 'utf8')).toBe('made\n');
    // the first run's folder said who owned it while it ran: no hit puts that back
    expect(fs.existsSync(path.join(dir, '.jobrun/logs', first.runId, '.owner'))).toBe(false);
  }, 120_000);

  it('finishes with links that loop in its input and output folders (pnpm workspaces have them)', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: build
    run: "mkdir -p dist/v1 && echo built > dist/v1/out.txt && ln -sfn v1 dist/current && ln -sfn .. dist/v1/up"
    cache: true
    inputs: ["packages/**"]
    outputs: [dist]
`,
      'packages/a/index.js': 'a\n',
      'packages/b/index.js': 'b\n',
    });
    // two packages that depend on each other, linked as pnpm links them
    fs.mkdirSync(path.join(dir, 'packages/a/node_modules'));
    fs.mkdirSync(path.join(dir, 'packages/b/node_modules'));
    fs.symlinkSync('../../b', path.join(dir, 'packages/a/node_modules/b'));
    fs.symlinkSync('../../a', path.join(dir, 'packages/b/node_modules/a'));
    expect((await runBatch(dir)).report.summary).toMatchObject({ succeeded: 1 });
    fs.rmSync(path.join(dir, 'dist'), { recursive: true });
    expect((await runBatch(dir)).report.summary).toMatchObject({ cached: 1 });
    expect(fs.readFileSync(path.join(dir, 'dist/v1/out.txt'), 'utf8')).toBe('built\n');
    fs.writeFileSync(path.join(dir, 'packages/b/index.js'), 'b2\n');
    const changed = await runBatch(dir, ['--explain']);
    expect(changed.report.summary).toMatchObject({ succeeded: 1 });
    expect(changed.r.stderr).toContain('input packages/b/index.js: content changed');
  }, 200_000);

  it('--resume: a cached job that needs a stage keeps its key, and a job that needs it hits', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: list
    run: "printf 'a\\nb\\n'"
    capture: lines
  - name: "each-{}"
    for_each: { from: list }
    run: "true {}"
  - name: mid
    needs: ["each-{}"]
    cache: true
    run: "mkdir -p out && echo mid > out/mid.txt"
    outputs: [out/mid.txt]
  - name: gate
    run: "[ ! -e fail ]"
  - name: after
    needs: [mid, gate]
    cache: true
    run: "echo after >> ran && echo after > out/after.txt"
    outputs: [out/after.txt]
`,
    });
    // the second run restores mid and skips after, as its gate fails
    const resumed = await storeStopResume(dir);
    // mid is resumed from the journal; its key, made as it was stored, lets after hit
    expect(resumed.r.stderr).not.toContain('after runs');
    expect(resumed.report.jobs.find((j) => j.name === 'after')?.status).toBe('cached');
    expect(readLines(path.join(dir, 'ran'))).toEqual(['after']);
  }, 120_000);

  it('--resume: a cached job listed before the cached job it needs keeps its key, and a job that needs it hits', async () => {
    const dir = tempDir('jobrun-cache-');
    // first needs second, yet comes first in the file: keys are made as needs end, not in file order
    writeFiles(dir, {
      'jobs.yaml': `version: 1
defaults:
  cache: true
jobs:
  - name: first
    needs: [second]
    run: "echo first >> ran && cat b.txt > a.txt"
    outputs: [a.txt]
  - name: second
    run: "echo second >> ran && echo b > b.txt"
    outputs: [b.txt]
  - name: gate
    cache: false
    run: "[ ! -e fail ]"
  - name: last
    needs: [first, gate]
    run: "echo last >> ran && cat a.txt > c.txt"
    outputs: [c.txt]
`,
    });
    // the second run restores first and second (journaled) and skips last, as its gate fails
    const resumed = await storeStopResume(dir, () => fs.rmSync(path.join(dir, 'ran')));
    // first is resumed with the key second's gives it, as it was stored: last hits
    expect(resumed.r.stderr).not.toContain('last runs');
    expect(resumed.report.jobs.find((j) => j.name === 'last')?.status).toBe('cached');
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  }, 120_000);

  it('explains a job that needs a stage as the run does: restored when nothing changed', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
defaults:
  cache: true
jobs:
  - name: list
    run: "cat list.txt"
    inputs: [list.txt]
    capture: lines
  - name: "proc-{}"
    for_each: { from: list }
    run: "mkdir -p out && echo P{} > out/{}.txt"
    outputs: ["out/{}.txt"]
  - name: final
    needs: ["proc-{}"]
    run: "cat out/*.txt"
    capture: stdout
`,
      'list.txt': 'a\nb\n',
    });
    await runBatch(dir);
    expect((await runBatch(dir)).report.summary).toMatchObject({ cached: 4 });
    const explained = await jobrun(['explain', 'jobs.yaml', 'final'], { cwd: dir });
    expect(explained.stdout).toContain('final: restored from the cache');
    expect(explained.stdout).toContain('need proc-{}: as stored, if its jobs are the same');
    fs.writeFileSync(path.join(dir, 'list.txt'), 'a\nc\n');
    const changed = await jobrun(['explain', 'jobs.yaml', 'final'], { cwd: dir });
    expect(changed.stdout).toContain('final: runs\n  need proc-{}: its source list runs');
  }, 120_000);

  it('explains a stage’s own jobs from its source’s stored result, and says when they are not known', async () => {
    const dir = tempDir('jobrun-cache-');
    const manifest = (cached: boolean) => `version: 1
defaults:
  cache: true
jobs:
  - name: list
    run: "cat list.txt"
    inputs: [list.txt]
    capture: lines
    cache: ${cached}
  - name: "proc-{}"
    for_each: { from: list }
    run: "mkdir -p out && echo P{} > out/{}.txt"
    outputs: ["out/{}.txt"]
`;
    writeFiles(dir, { 'jobs.yaml': manifest(true), 'list.txt': 'a\nb\n' });
    await runBatch(dir);
    fs.rmSync(path.join(dir, 'out/b.txt'));
    const one = await jobrun(['explain', 'jobs.yaml', 'proc-a'], { cwd: dir });
    expect(one.code, one.stderr).toBe(0);
    expect(one.stdout).toMatch(/^proc-a: restored from the cache\n {2}unchanged since /);
    // the template stands for all of the stage's jobs, as in needs; --json as any job
    const all = await jobrun(['explain', '--json', 'jobs.yaml', 'proc-{}'], { cwd: dir });
    const jobs = (JSON.parse(all.stdout) as { jobs: Array<{ name: string; verdict: string }> })
      .jobs;
    expect(jobs.map((j) => [j.name, j.verdict])).toEqual([
      ['proc-a', 'hit'],
      ['proc-b', 'hit'],
    ]);
    // and what explain says is what the run does
    const second = await runBatch(dir);
    expect(second.report.summary).toMatchObject({ cached: 3 });
    expect(fs.readFileSync(path.join(dir, 'out/b.txt'), 'utf8')).toBe('Pb\n');
    const none = await jobrun(['explain', 'jobs.yaml', 'proc-c'], { cwd: dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('has no job named "proc-c": stage proc-{} makes proc-a, proc-b');
    fs.writeFileSync(path.join(dir, 'list.txt'), 'a\nc\n');
    const runs = await jobrun(['explain', 'jobs.yaml', 'proc-c'], { cwd: dir });
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toBe(
      'proc-{}: runs\n  its source list runs: its jobs are known once it ran\n',
    );
    fs.writeFileSync(path.join(dir, 'jobs.yaml'), manifest(false));
    const unknown = await jobrun(['explain', '--json', 'jobs.yaml', 'proc-a'], { cwd: dir });
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(JSON.parse(unknown.stdout)).toMatchObject({
      jobs: [
        {
          name: 'proc-{}',
          verdict: 'unknown',
          why: ['its source list is not cached: its jobs are known once it ran'],
        },
      ],
    });
  }, 120_000);

  it('warns and stores nothing for a job whose declared output was never produced', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: forgetful
    run: "echo ran >> ran.log"
    cache: true
    outputs: ["never.txt"]
`,
    });
    const first = await runBatch(dir);
    expect(first.r.stderr).toContain('forgetful: not cached: output never.txt was never produced');
    expect((await runBatch(dir)).ran).toEqual(['ran']);
  }, 60_000);

  it('takes an item’s glob characters literally in outputs: no job stores or restores another’s file', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: c-{base}
    for_each: "d/*"
    cache: true
    run: "mkdir -p out && wc -c < {} > out/{base}.n"
    outputs: ["out/{base}.n"]
`,
      'd/a1': 'x\n',
      'd/a?': 'y\n',
      'e/a1.txt': 'x\n',
      'e/a?.txt': 'y\n',
    });
    const read = (file: string) => fs.readFileSync(path.join(dir, file), 'utf8').trim();
    const run = async (args: string[]) => {
      const r = await jobrun(args, { cwd: dir, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
    };
    const manifest = ['run', 'jobs.yaml', '-j', '1'];
    const adHoc = ['run', '--glob', 'e/*.txt', '--cache', '--cache-output', '{}.n', '-j', '1'];
    adHoc.push('--', 'sh', '-c', 'wc -c < "$1" > "$1.n"', 'sh', '{}');
    await run(manifest);
    await run(adHoc);
    fs.writeFileSync(path.join(dir, 'd/a1'), 'much longer content\n');
    fs.writeFileSync(path.join(dir, 'e/a1.txt'), 'much longer content\n');
    await run(manifest);
    await run(adHoc);
    // c-a? hits and restores its own output only
    expect(read('out/a1.n')).toBe('20');
    expect(read('e/a1.txt.n')).toBe('20');
    // and what was stored for a1 is its fresh output
    fs.rmSync(path.join(dir, 'out'), { recursive: true });
    fs.rmSync(path.join(dir, 'e/a1.txt.n'));
    await run(manifest);
    await run(adHoc);
    expect(read('out/a1.n')).toBe('20');
    expect(read('out/a?.n')).toBe('2');
    expect(read('e/a1.txt.n')).toBe('20');
  }, 120_000);
});

describe('a cached job feeding a stage, then a stop and --resume', () => {
  it("keeps the cached job's result in the journal: the resumed run makes the stage from it", async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: src
    run: printf 'a\\nb\\nc\\n'
    cache: true
  - name: "s-{item}"
    for_each: { from: src }
    run: "echo {item} >> started; while [ ! -e go ]; do sleep 0.05; done; echo {item} >> done"
`,
    });
    fs.writeFileSync(path.join(dir, 'go'), '');
    const first = await jobrun(['run', 'm.yaml', '--progress', 'none'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    for (const file of ['done', 'started', 'go']) fs.rmSync(path.join(dir, file));
    // the second run restores src from the cache; stopped while its stage runs
    const second = spawn(
      process.execPath,
      [BIN, 'run', 'm.yaml', '--progress', 'none', '-j', '1'],
      {
        cwd: dir,
        stdio: 'ignore',
      },
    );
    const ended = new Promise((resolve) => second.on('close', resolve));
    await waitFor(() => fs.existsSync(path.join(dir, 'started')), 20_000, 'a stage job to start');
    second.kill('SIGINT');
    await ended;
    fs.writeFileSync(path.join(dir, 'go'), '');
    const resumed = await jobrun(['run', 'm.yaml', '--resume', '--json'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const report = JSON.parse(resumed.stdout) as Report;
    expect(report.jobs.map((j) => [j.name, j.status])).toEqual([
      ['src', 'succeeded'],
      ['s-a', 'succeeded'],
      ['s-b', 'succeeded'],
      ['s-c', 'succeeded'],
    ]);
    expect(readLines(path.join(dir, 'done')).sort()).toEqual(['a', 'b', 'c']);
  });
});

describe('cache: true on a stage', () => {
  it('caches its jobs when no other job is cached', async () => {
    const dir = tempDir('jobrun-cache-');
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: src
    run: printf 'a\\nb\\n'
  - name: "s-{item}"
    for_each: { from: src }
    run: echo {item} >> ran.log
    cache: true
`,
    });
    for (const expected of [{ succeeded: 3 }, { succeeded: 1, cached: 2 }]) {
      const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect((JSON.parse(r.stdout) as Report).summary).toMatchObject(expected);
    }
    expect(readLines(path.join(dir, 'ran.log'))).toEqual(['a', 'b']);
  });
});
