/**
 * Issue 8 item 9, on the built bin: one job, one identity. Jobs named alike (the same
 * stdin line twice, names that become the same file name) never share a log file, an
 * event identity or a journal entry.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';

describe('one identity per job', () => {
  it('equal stdin lines are separate jobs with their own output, like GNU parallel', async () => {
    const r = await jobrun(
      [
        'run',
        '--stdin',
        '-j1',
        '--output',
        'grouped',
        '--progress',
        'none',
        '--',
        'sh',
        '-c',
        'echo "run $1 of $2"',
        'x',
        '{#}',
        '{}',
      ],
      { input: 'dup\ndup\ndup\n' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('run 1 of dup\nrun 2 of dup\nrun 3 of dup\n');
  });

  it('names that sanitise alike get their own log files, ids and events', async () => {
    const dir = tempDir();
    const names = ['a b', 'a_b-1', 'a_b', 'x', 'x.attempt-2'];
    writeFiles(dir, {
      'm.yaml': [
        'version: 1',
        'defaults: { retries: 1, backoff: { delay: 0 } }',
        'jobs:',
        '  - name: "{}"',
        `    for_each: ${JSON.stringify(names)}`,
        `    run: echo "out of {}"; test -e "{}.again" || { touch "{}.again"; exit 1; }`,
      ].join('\n'),
    });
    const report = path.join(dir, 'r.json');
    const r = await jobrun(['run', 'm.yaml', '-j', '2', '--events', '--report', report], {
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    const jobs = (JSON.parse(fs.readFileSync(report, 'utf8')) as Report).jobs;
    expect(jobs.map((j) => j.name)).toEqual(names);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(names.length);
    const logs = jobs.flatMap((j) => j.attempts.map((a) => a.log!));
    expect(logs).toHaveLength(names.length * 2);
    expect(new Set(logs).size).toBe(logs.length);
    for (const job of jobs) {
      for (const a of job.attempts) {
        expect(fs.readFileSync(a.log!, 'utf8')).toBe(`out of ${job.name}\n`);
      }
    }
    const starts = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type: string; id?: string; attempt?: number })
      .filter((e) => e.type === 'job_start');
    expect(new Set(starts.map((e) => `${e.id}#${e.attempt}`)).size).toBe(names.length * 2);
  });

  it('--resume tells equal jobs apart: each success recorded skips one of them', async () => {
    const dir = tempDir();
    // the second call fails, every other succeeds
    writeFiles(dir, {
      'step.sh':
        'n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; [ $n -ne 2 ]\n',
    });
    const run = (...extra: string[]) =>
      jobrun(['run', '--stdin', '-j1', '--progress', 'none', ...extra, '--', 'sh step.sh {}'], {
        cwd: dir,
        input: 'dup\ndup\n',
      });
    const count = () => fs.readFileSync(path.join(dir, 'count'), 'utf8').trim();
    expect((await run()).code).toBe(1);
    expect(count()).toBe('2');
    const resumed = await run('--resume');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(count()).toBe('3'); // one dup was done; only the other ran again
    expect((await run('--resume')).code).toBe(0);
    expect(count()).toBe('3'); // both done now
  });
});
