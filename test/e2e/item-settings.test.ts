import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, readLines, tempDir, writeFiles } from './helpers.js';
import { byName } from './stages-helpers.js';

/** Each job appends its name to started.txt as it starts: the order jobs really started in. */
const RECORD_START = 'echo {name} >> started.txt';

const POOLS = ['pools:', '  cpu: { workers: 1 }', '  gpu: { workers: 1 }'];

/** A folder holding items.csv and m.yaml: one job per row, priority and pool from its columns. */
function csvRun(csv: string, ...settings: string[]): string {
  const dir = tempDir();
  writeFiles(dir, {
    'items.csv': csv,
    'm.yaml': [
      'version: 1',
      ...POOLS,
      'jobs:',
      '  - name: j-{name}',
      '    for_each: { csv: items.csv }',
      '    priority: "{prio}"',
      '    pool: "{pool}"',
      ...settings.map((line) => `    ${line}`),
    ].join('\n'),
  });
  return dir;
}

/**
 * A folder holding m.yaml: stage `list` prints `items` (`priority/pool` each), and
 * `s-{//}` runs `run` once per item, with the priority and pool its item gives;
 * `after`: lines of further jobs.
 */
function stageRun(items: string[], run: string, ...after: string[]): string {
  const dir = tempDir();
  writeFiles(dir, {
    'm.yaml': [
      'version: 1',
      ...POOLS,
      'jobs:',
      '  - name: list',
      '    capture: lines',
      `    run: printf '${items.join('\\n')}\\n'`,
      '  - name: s-{//}',
      '    for_each: { from: list }',
      '    priority: "{//}"',
      '    pool: "{/}"',
      `    run: ${run}`,
      ...after,
    ].join('\n'),
  });
  return dir;
}

describe('priority, pool and timeout filled in per item, end to end', () => {
  it('starts a CSV for_each by each row’s priority, in its pool, with its timeout', async () => {
    const dir = csvRun(
      // d ties with b: equal priorities start in file order
      'name,prio,pool,t\na,1,cpu,30s\nb,5,gpu,30s\nc,3,cpu,1s\nd,5,cpu,30s\n',
      'timeout: "{t}"',
      'kill_grace: 1s',
      // only c sleeps past its own timeout; the others' 30s never fires
      `run: ${RECORD_START}; if [ {name} = c ]; then sleep 20; fi`,
    );
    const r = await jobrun(['run', 'm.yaml', '-j', '1', '--json'], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(readLines(path.join(dir, 'started.txt'))).toEqual(['b', 'd', 'c', 'a']);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(Object.values(jobs).map((j) => [j.name, j.priority, j.pool, j.status])).toEqual([
      ['j-a', 1, 'cpu', 'succeeded'],
      ['j-b', 5, 'gpu', 'succeeded'],
      ['j-c', 3, 'cpu', 'timed_out'],
      ['j-d', 5, 'cpu', 'succeeded'],
    ]);
    expect(jobs['j-c']!.durationMs).toBeLessThan(15_000);
  });

  it('refuses a bad value of a known item before anything runs (exit 2, at its position)', async () => {
    const dir = csvRun('name,prio,pool\na,high,cpu\nb,2,gpux\n', `run: ${RECORD_START}`);
    const r = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'm.yaml:8:15: priority "{prio}" of job j-a: "high" is not an integer',
    );
    expect(r.stderr).toContain(
      'm.yaml:9:11: pool "{pool}" of job j-b: "gpux" is not a declared pool',
    );
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, never a trace
    expect(fs.existsSync(path.join(dir, 'started.txt'))).toBe(false);
    const check = await jobrun(['validate', 'm.yaml'], { cwd: dir });
    expect(check.code).toBe(2);
    expect(check.stderr).toContain('"high" is not an integer');
  });

  it('fails only the stage job whose item is bad, and runs the rest by their priorities', async () => {
    // priority/pool per item; "high" is no priority, "tpu" no pool
    const dir = stageRun(
      ['1/cpu', 'high/cpu', '7/gpu', '4/tpu', '3/cpu'],
      'echo s-{//} >> started.txt',
      '  - name: after',
      '    needs: s-{//}',
      '    run: echo after >> started.txt',
    );
    const r = await jobrun(['run', 'm.yaml', '-j', '1', '--json', '--report', 'r.json'], {
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(readLines(path.join(dir, 'started.txt'))).toEqual(['s-7', 's-3', 's-1']);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs['s-high']).toMatchObject({
      status: 'failed',
      reason: 'priority "{//}" of job s-high: "high" is not an integer',
      attempts: [],
    });
    expect(jobs['s-4']).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining(
        'pool "{/}" of job s-4: "tpu" is not a declared pool',
      ) as string,
    });
    expect(jobs['s-7']).toMatchObject({ status: 'succeeded', priority: 7, pool: 'gpu' });
    expect(jobs.after).toMatchObject({ status: 'skipped' });
    expect(r.stderr).toContain('s-high');
    // a retry does not run a refused job with a default either
    const again = await jobrun(['retry', 'r.json'], { cwd: dir });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(
      'cannot retry "s-high": it never ran: priority "{//}" of job s-high: "high" is not an integer',
    );
  });

  it('retries a failed stage job with the priority and pool its item gave it', async () => {
    const dir = stageRun(['5/gpu', '2/cpu'], 'test -e ok');
    const first = await jobrun(['run', 'm.yaml', '--report', 'r.json'], { cwd: dir });
    expect(first.code, first.stderr).toBe(1);
    fs.writeFileSync(path.join(dir, 'ok'), '');
    const r = await jobrun(['retry', 'r.json', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs['s-5']).toMatchObject({ status: 'succeeded', priority: 5, pool: 'gpu' });
    expect(jobs['s-2']).toMatchObject({ status: 'succeeded', priority: 2, pool: 'cpu' });
  });
});
