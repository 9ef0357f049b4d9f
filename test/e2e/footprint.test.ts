import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_KEEP_RUNS } from '../../src/cli/retention.js';
import { jobrun, readLines, ROOT, tempDir, writeFiles } from './helpers.js';

/** What a run leaves behind: log retention, `jobrun clean`, the compacted journal, CI logs. */
const dirs: string[] = [];
beforeAll(() => {
  if (!fs.existsSync(path.join(ROOT, 'dist/cli/main.js'))) throw new Error('run npm run build');
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function project(jobs = 'jobs:\n  - { name: a, run: echo a }\n'): string {
  const dir = tempDir('jobrun-footprint-');
  dirs.push(dir);
  writeFiles(dir, { 'jobs.yaml': `version: 1\n${jobs}` });
  return dir;
}

/** Run folders under .jobrun/logs, oldest first. */
function runs(dir: string): string[] {
  const root = path.join(dir, '.jobrun/logs');
  return fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((n) => /^\d{8}-/.test(n))
        .sort()
    : [];
}

/** `n` old runs' log folders, each with a log file, dated in 2020 so they sort first. */
function oldRuns(dir: string, n: number): string[] {
  const names = Array.from(
    { length: n },
    (_, i) => `20200101-0000${String(i).padStart(2, '0')}-old${i}`,
  );
  for (const name of names) writeFiles(dir, { [`.jobrun/logs/${name}/job.log`]: 'old output\n' });
  return names;
}

describe('log retention', () => {
  it(`keeps the last ${DEFAULT_KEEP_RUNS} runs' logs by default, and folders that are not runs`, async () => {
    const dir = project();
    const old = oldRuns(dir, 12);
    writeFiles(dir, { '.jobrun/logs/notes/keep.txt': 'mine\n' });
    const r = await jobrun(['run', 'jobs.yaml'], { cwd: dir });
    expect(r.code).toBe(0);
    const left = runs(dir);
    expect(left).toHaveLength(DEFAULT_KEEP_RUNS);
    expect(left.slice(0, -1)).toEqual(old.slice(-(DEFAULT_KEEP_RUNS - 1))); // the oldest went
    expect(left.at(-1)).not.toMatch(/^2020/); // this run's own folder
    expect(fs.existsSync(path.join(dir, '.jobrun/logs/notes/keep.txt'))).toBe(true);
  });

  it('--keep-logs and JOBRUN_KEEP_LOGS set the count; "all" keeps everything', async () => {
    const dir = project();
    oldRuns(dir, 5);
    await jobrun(['run', 'jobs.yaml'], { cwd: dir, env: { JOBRUN_KEEP_LOGS: 'all' } });
    expect(runs(dir)).toHaveLength(6);
    await jobrun(['run', 'jobs.yaml'], { cwd: dir, env: { JOBRUN_KEEP_LOGS: '4' } });
    expect(runs(dir)).toHaveLength(4);
    const r = await jobrun(['run', 'jobs.yaml', '--keep-logs', '1'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(runs(dir)).toHaveLength(1);
    const bad = await jobrun(['run', 'jobs.yaml', '--keep-logs', '0'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("option '--keep-logs <n|all>' argument '0' is invalid");
    expect(bad.stderr).toContain('must be a number of runs (1 or more) or "all"');
  });

  it('a --logs folder is never pruned', async () => {
    const dir = project();
    oldRuns(dir, 3);
    await jobrun(['run', 'jobs.yaml', '--logs', 'mine', '--keep-logs', '1'], { cwd: dir });
    expect(runs(dir)).toHaveLength(3);
  });
});

describe('jobrun clean', () => {
  it('deletes all runs but the newest --keep, and the journals with --journals', async () => {
    const dir = project();
    oldRuns(dir, 4);
    await jobrun(['run', 'jobs.yaml'], { cwd: dir });
    expect(fs.readdirSync(path.join(dir, '.jobrun/journal'))).toHaveLength(1);
    const keep = await jobrun(['clean', '--keep', '2'], { cwd: dir });
    expect(keep.code).toBe(0);
    expect(keep.stderr).toMatch(/removed the logs of 3 runs \(3 files, 0\.0 MB\)/);
    expect(runs(dir)).toHaveLength(2);
    const all = await jobrun(['clean', '--journals'], { cwd: dir });
    expect(all.stderr).toMatch(/removed the logs of 2 runs .* and 1 journal\n/);
    expect(runs(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, '.jobrun/journal'))).toBe(false);
  });
});

describe('the journal of a completed run', () => {
  it('is compacted to one line per success, and --resume still skips exactly those', async () => {
    const jobs = Array.from(
      { length: 20 },
      (_, i) => `  - { name: j${i}, run: "exit ${i % 5 === 0 ? 1 : 0}" }`,
    );
    const dir = project(`jobs:\n${jobs.join('\n')}\n`);
    expect((await jobrun(['run', 'jobs.yaml'], { cwd: dir })).code).toBe(1);
    const [name] = fs.readdirSync(path.join(dir, '.jobrun/journal'));
    const file = path.join(dir, '.jobrun/journal', name!);
    const lines = readLines(file).map((l) => JSON.parse(l) as Record<string, string>);
    expect(lines).toHaveLength(16); // the four failures are gone
    expect(lines.every((l) => l.status === 'succeeded' && !('time' in l))).toBe(true);
    expect(new Set(lines.map((l) => l.name)).size).toBe(16);
    const before = fs.statSync(file).size;
    // a resumed run runs the four failed jobs only, and its journal stays compact
    const again = await jobrun(['run', 'jobs.yaml', '--resume', '--json'], { cwd: dir });
    const report = JSON.parse(again.stdout) as { jobs: { name: string; attempts: unknown[] }[] };
    expect(report.jobs.filter((j) => j.attempts.length > 0).map((j) => j.name)).toEqual([
      'j0',
      'j5',
      'j10',
      'j15',
    ]);
    // they failed again: compacted, the journal is what it was
    expect(fs.statSync(file).size).toBe(before);
  });
});

describe('CI output of a large run', () => {
  it('prints every failure with its tail, and summarizes the successes', async () => {
    const n = 230;
    const dir = project(
      `jobs:\n  - name: "t-{item}"\n    for_each: [${Array.from({ length: n }, (_, i) => i).join(', ')}]\n` +
        `    run: 'if [ {item} = 77 ] || [ {item} = 200 ]; then echo "bad {item}"; exit 3; fi'\n`,
    );
    const r = await jobrun(['run', 'jobs.yaml', '-j', '4'], { cwd: dir, timeoutMs: 240_000 });
    expect(r.code).toBe(1);
    const lines = r.stderr.split('\n');
    expect(lines.length).toBeLessThan(60);
    expect(r.stderr).toMatch(/✖ failed +t-77 .*exit 3\n.*bad 77/);
    expect(r.stderr).toMatch(/✖ failed +t-200 .*exit 3\n.*bad 200/);
    expect(lines.filter((l) => /^\[ *\d+\/230\] ✔ succeeded/.test(l))).toEqual([]); // (the table lists the slowest)
    expect(r.stderr).toMatch(/\[230\/230\] 228 succeeded, 2 failed after/);
    expect(r.stderr).toContain('--progress plain lists every job');
  }, 300_000);

  it('help names success=N% for --halt, --keep-logs and the clean command', async () => {
    const run = await jobrun(['run', '--help']);
    expect(run.stdout).toContain('success=N%');
    expect(run.stdout).toContain('--keep-logs <n|all>');
    const clean = await jobrun(['clean', '--help']);
    expect(clean.stdout).toContain('--journals');
  });
});
