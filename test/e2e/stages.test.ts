import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';
import { PIPELINE, PIPELINE_FILES, byName } from './stages-helpers.js';

describe('pipeline stages (for_each: { from: JOB }), end to end', () => {
  it('runs each stage from the previous result; the report shows every job in order', async () => {
    const dir = tempDir();
    writeFiles(dir, { ...PIPELINE_FILES, 'm.yaml': PIPELINE });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.jobs.map((j) => j.name)).toEqual([
      'list',
      'size-a',
      'size-b b',
      'size-c',
      'total',
    ]);
    const jobs = byName(report);
    expect(jobs.list!.result).toEqual(['a.txt', 'b b.txt', 'c.txt']);
    expect(jobs['size-a']).toMatchObject({ result: 3, needs: ['list'], priority: 3 });
    expect(jobs['size-b b']).toMatchObject({ result: 5 });
    expect(jobs['size-c']).toMatchObject({ result: 7 });
    expect(jobs.total!.needs).toEqual(['size-a', 'size-b b', 'size-c']);
    // total started only after every job of the stage ended
    const ends = ['size-a', 'size-b b', 'size-c'].map((n) => Date.parse(jobs[n]!.endedAt));
    expect(Date.parse(jobs.total!.startedAt!)).toBeGreaterThanOrEqual(Math.max(...ends));
    expect(report.summary).toMatchObject({ total: 5, succeeded: 5 });
  });

  it('runs the README example pipeline green', async () => {
    const r = await jobrun(['run', 'pipeline.yaml', '--json'], {
      cwd: path.resolve('fixtures/examples'),
    });
    expect(r.code, r.stderr).toBe(0);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    const counts = Object.values(jobs)
      .filter((j) => j.name.startsWith('words-'))
      .map((j) => j.result as number);
    expect(counts).toHaveLength(6);
    expect(jobs.total!.result).toBe(counts.reduce((a, b) => a + b, 0));
  });

  it('runs the README three-level ETL: split, count per chunk, load with a fan-in', async () => {
    const r = await jobrun(['run', 'etl.yaml', '--json'], {
      cwd: path.resolve('fixtures/examples'),
    });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    const counts = report.jobs.filter((j) => j.stage === 'count-{stem}');
    expect(counts.map((j) => j.name)).toEqual([
      'count-chunk-aa',
      'count-chunk-ab',
      'count-chunk-ac',
      'count-chunk-ad',
      'count-chunk-ae',
    ]);
    const words = counts.reduce((sum, j) => sum + (j.result as number), 0);
    // the fixture's texts hold 20,350 words; the load step adds up what its stdin carried
    expect(words).toBe(20350);
    expect(byName(report).load!.result).toEqual({ chunks: 5, words });
    // as the README prints it
    const v = await jobrun(['validate', 'etl.yaml'], { cwd: path.resolve('fixtures/examples') });
    expect(v.stdout).toBe(
      'etl.yaml: ok, 2 jobs, 1 stage\n  stage count-{stem}: items from split\n    wc -w < {file}\n',
    );
  });

  it('skips the stage and what waits on it when the source fails, and says why', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': PIPELINE.replace("printf 'a.txt", "exit 3; printf 'a.txt") });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs.list).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(jobs['size-{stem}']).toMatchObject({ status: 'skipped', reason: 'need "list" failed' });
    expect(jobs.total).toMatchObject({ status: 'skipped', reason: 'need "size-{stem}" skipped' });
  });

  it('skips a stage whose source result is not a list', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': PIPELINE.replace(
        "run: printf 'a.txt\\nb b.txt\\nc.txt\\n'",
        `run: "echo '{\\"a\\": 1}'"\n    capture: json`,
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs.list).toMatchObject({ status: 'succeeded', result: { a: 1 } });
    expect(jobs['size-{stem}']!.reason).toMatch(/result of "list" is not a list/);
  });

  it('validate and --dry-run show a stage as "items from JOB" with its template', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': PIPELINE });
    const v = await jobrun(['validate', 'm.yaml'], { cwd: dir });
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('ok, 2 jobs, 1 stage');
    expect(v.stdout).toContain('stage size-{stem}: items from list');
    const d = await jobrun(['run', 'm.yaml', '--dry-run'], { cwd: dir });
    expect(d.code).toBe(0);
    expect(d.stdout).toMatch(/^1\. list\n/);
    expect(d.stdout).toContain('then: size-{stem}  (items from list priority=3)');
    expect(d.stdout).toContain("    wc -c < {file} | tr -d ' '");
    expect(d.stdout).toContain('then: total  (needs=size-{stem})');
    expect(fs.existsSync(path.join(dir, '.jobrun'))).toBe(false);
  });

  it('refuses an unknown source and a loop through a stage, at their positions', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'unknown.yaml': PIPELINE.replace('from: list', 'from: lst'),
      'loop.yaml': PIPELINE.replace(
        "run: printf 'a.txt",
        'needs: ["size-{stem}"]\n    run: printf \'a.txt',
      ),
    });
    const u = await jobrun(['validate', 'unknown.yaml'], { cwd: dir });
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('unknown.yaml:7:');
    expect(u.stderr).toContain('"lst" is not a job or a stage; did you mean "list"?');
    const l = await jobrun(['validate', 'loop.yaml'], { cwd: dir });
    expect(l.code).toBe(2);
    expect(l.stderr).toContain('dependency cycle: size-{stem} → list → size-{stem}');
  });
});
