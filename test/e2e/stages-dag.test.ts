import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';
import { byName, EXTRACT_THEN_T } from './stages-helpers.js';

/** extract → t-* and u-* (both from extract) → v-* (from the stage t-*) → load (needs v-* and u-*). */
const DAG = `version: 1
workers: 2
jobs:
${EXTRACT_THEN_T}  - name: u-{item}
    for_each: { from: extract }
    run: echo u {item}
  - name: v-{item}
    for_each: { from: "t-{item}" }
    run: echo v {item}
    capture: lines
  - name: load
    needs: ["v-{item}", "u-{item}"]
    run: echo load
`;

const report = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Report;

describe('pipelines as a DAG of jobs and stage templates', () => {
  it('runs every stage of one source, and a stage of a stage with items in its job order', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': DAG });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as Report;
    const jobs = byName(rep);
    expect(Object.keys(jobs).sort()).toEqual(
      ['extract', 't-a', 't-b', 'u-a', 'u-b', 'v-a1', 'v-a2', 'v-b1', 'v-b2', 'load'].sort(),
    );
    expect(rep.summary).toMatchObject({ total: 10, succeeded: 10 });
    // each job of the stage of a stage needs the job whose result gave its item
    expect(jobs['v-a2']).toMatchObject({ needs: ['t-a'], result: ['v a2'] });
    expect(jobs['v-b1']!.needs).toEqual(['t-b']);
    // the report lists v-* in t-*'s job order, whatever order t-* ended in
    const order = rep.jobs.map((j) => j.name).filter((n) => n.startsWith('v-'));
    expect(order).toEqual(['v-a1', 'v-a2', 'v-b1', 'v-b2']);
    expect(jobs.load!.needs).toEqual(['v-a1', 'v-a2', 'v-b1', 'v-b2', 'u-a', 'u-b']);
    const loadStart = Date.parse(jobs.load!.startedAt!);
    for (const n of ['v-a1', 'v-b2', 'u-a', 'u-b'])
      expect(loadStart).toBeGreaterThanOrEqual(Date.parse(jobs[n]!.endedAt));
  });

  // a stage's jobs once filled the template with their own item ("sa-x"), named no
  // job and were skipped: the run exited 1 though the manifest validated
  it('a stage whose needs name another stage waits for all of its jobs', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: a
    run: printf '1\\n2\\n'
  - name: b
    run: printf 'x\\ny\\n'
  - name: sa-{item}
    for_each: { from: a }
    run: echo sa {item}
  - name: sb-{item}
    for_each: { from: b }
    needs: ["sa-{item}"]
    run: echo sb {item}
`,
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs['sb-x']).toMatchObject({ status: 'succeeded', needs: ['b', 'sa-1', 'sa-2'] });
    expect(jobs['sb-y']).toMatchObject({ status: 'succeeded', needs: ['b', 'sa-1', 'sa-2'] });
    for (const n of ['sa-1', 'sa-2'])
      expect(Date.parse(jobs['sb-x']!.startedAt!)).toBeGreaterThanOrEqual(
        Date.parse(jobs[n]!.endedAt),
      );
  });

  it('batch: groups a stage’s items, N per job', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: extract
    run: printf 'a\\nb\\nc\\n'
  - name: t-{}
    for_each: { from: extract }
    batch: 2
    run: echo {}
    capture: lines
`,
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const jobs = (JSON.parse(r.stdout) as Report).jobs.filter((j) => j.stage === 't-{}');
    expect(jobs.map((j) => [j.items, j.result])).toEqual([
      [['a', 'b'], ['a b']],
      [undefined, ['c']],
    ]);
  });

  it('refuses a cycle through stages of stages', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: a-{item}
    for_each: { from: "b-{item}" }
    run: echo {item}
  - name: b-{item}
    for_each: { from: "a-{item}" }
    run: echo {item}
`,
    });
    const r = await jobrun(['validate', 'm.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('dependency cycle: a-{item} → b-{item} → a-{item}');
  });

  it('a halt before a stage expanded reports it once under its template, and what waits on it', async () => {
    const dir = tempDir();
    const slow = DAG.replace("run: printf 'a\\nb\\n'", "run: sleep 30; printf 'a\\nb\\n'").concat(
      '  - name: boom\n    run: exit 3\n',
    );
    writeFiles(dir, { 'm.yaml': slow });
    const r = await jobrun(['run', 'm.yaml', '--halt', 'now,fail=1', '--report', 'r.json'], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    const rep = report(path.join(dir, 'r.json'));
    const jobs = byName(rep);
    expect(Object.keys(jobs).sort()).toEqual(
      ['boom', 'extract', 'load', 't-{item}', 'u-{item}', 'v-{item}'].sort(),
    );
    const halted = 'halted by --halt now,fail=1';
    expect(jobs.boom).toMatchObject({ status: 'failed' });
    expect(jobs.extract).toMatchObject({ status: 'cancelled', reason: halted });
    for (const n of ['t-{item}', 'u-{item}', 'v-{item}', 'load'])
      expect(jobs[n], n).toMatchObject({ status: 'cancelled', reason: halted, attempts: [] });
    expect(rep.summary).toMatchObject({ total: 6, failed: 1, cancelled: 5 });
    expect(new Set(rep.jobs.map((j) => j.id)).size).toBe(6);
  });

  it('Ctrl-C while a stage of a stage waits accounts for every job of the plan', async () => {
    const dir = tempDir();
    const slow = DAG.replace('run: echo v {item}', 'run: echo $$ >> pids; sleep 30');
    writeFiles(dir, { 'm.yaml': slow });
    const r = await jobrun(['run', 'm.yaml', '--report', 'r.json'], {
      cwd: dir,
      onSpawn: (child) => {
        void waitFor(() => readLines(path.join(dir, 'pids')).length >= 2, 20_000, 'v-* up').then(
          () => child.kill('SIGINT'),
        );
      },
    });
    expect(r.signal ?? r.code).not.toBe(0);
    const rep = report(path.join(dir, 'r.json'));
    const states = new Set(rep.jobs.map((j) => j.status));
    for (const s of states) expect(['succeeded', 'cancelled']).toContain(s);
    const jobs = byName(rep);
    expect(jobs.load).toMatchObject({ status: 'cancelled', reason: 'interrupted by SIGINT' });
    expect(rep.summary.total).toBe(10);
    expect(rep.summary.succeeded + rep.summary.cancelled).toBe(10);
  });
});
