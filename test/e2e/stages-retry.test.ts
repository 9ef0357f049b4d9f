import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, readLines, tempDir, writeFiles } from './helpers.js';
import { byName } from './stages-helpers.js';

/** extract → t-* → load; a job listed in FAIL fails until the file "fixed" exists. */
const PIPE = (extract = "printf 'a\\nb\\n'") => `version: 1
jobs:
  - name: extract
    run: echo extract >> ran; { [ -f fixed ] || ! grep -qx extract FAIL; } && ${extract}
  - name: t-{item}
    for_each: { from: extract }
    run: echo t-{item} >> ran; [ -f fixed ] || ! grep -qx t-{item} FAIL
  - name: load
    needs: ["t-{item}"]
    run: echo load >> ran
`;

/** `split` gives x and y; `w-{item}` prints {item}-out, and fails for y until "fixed" exists. */
const SPLIT_THEN_W = `version: 1
jobs:
  - name: split
    run: printf 'x\\ny\\n'
  - name: w-{item}
    for_each: { from: split }
    run: "{ [ -f fixed ] || [ {item} != y ]; } && echo {item}-out"
`;

async function failThenRetry(fail: string) {
  const dir = tempDir();
  writeFiles(dir, { 'm.yaml': PIPE(), FAIL: `${fail}\n` });
  const first = await jobrun(['run', 'm.yaml', '--report', 'r.json'], { cwd: dir });
  expect(first.code).toBe(1);
  fs.writeFileSync(path.join(dir, 'fixed'), '');
  const before = readLines(path.join(dir, 'ran')).length;
  const r = await jobrun(['retry', 'r.json', '--json'], { cwd: dir });
  return { r, dir, ran: readLines(path.join(dir, 'ran')).slice(before) };
}

describe('jobrun retry of a pipeline', () => {
  it('re-runs a failed stage job with its reported command, and what it held back', async () => {
    const { r, ran } = await failThenRetry('t-b');
    expect(r.code, r.stderr).toBe(0);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs['t-b']).toMatchObject({ status: 'succeeded', stage: 't-{item}' });
    expect(jobs.load!.status).toBe('succeeded');
    expect(ran).toEqual(['t-b', 'load']);
  });

  it('re-runs a stage that never expanded together with its failed source', async () => {
    const { r, ran } = await failThenRetry('extract');
    expect(r.code, r.stderr).toBe(0);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(Object.keys(jobs).sort()).toEqual(['extract', 'load', 't-a', 't-b']);
    expect(ran.sort()).toEqual(['extract', 'load', 't-a', 't-b']);
  });

  it('refuses, naming it, a stage it cannot rebuild (its source gave no items, and is not retried)', async () => {
    const dir = tempDir();
    // the source succeeds but gives no list: the stage is skipped, the source is not retried
    writeFiles(dir, {
      'm.yaml': PIPE(`echo '{"a":1}'`).replace(
        '  - name: t-{item}',
        '    capture: json\n  - name: t-{item}',
      ),
      FAIL: '',
    });
    const first = await jobrun(['run', 'm.yaml', '--report', 'r.json'], { cwd: dir });
    expect(first.code).toBe(1);
    const r = await jobrun(['retry', 'r.json'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot retry "t-{item}"');
    expect(r.stderr).toContain('its source "extract" succeeded without a list of items');
  });

  it('gives re-driven stages and fan-ins the results of the jobs that succeeded before', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: setup
    run: echo setup >> ran; test -f fixed
  - name: split
    run: echo split >> ran; printf 'x\\ny\\nz\\n'
  - name: w-{item}
    for_each: { from: split }
    run: echo w-{item} >> ran; { [ -f fixed ] || [ {item} != y ]; } && echo {item}-out
  - name: v-{item}
    for_each: { from: "w-{item}" }
    run: echo v-{item} >> ran
  - name: c-{item}
    for_each: { from: split }
    needs: [setup]
    run: echo c-{item} >> ran
  - name: sum
    stdin: { from: "w-{item}" }
    run: echo sum >> ran; cat > sum.txt
  - name: all
    stdin: { from: split }
    run: echo all >> ran; cat > all.txt; test -f fixed
`,
    });
    const first = await jobrun(['run', 'm.yaml', '--report', 'r.json'], { cwd: dir });
    expect(first.code).toBe(1);
    const before = byName(JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as Report);
    expect(before['c-{item}']).toMatchObject({ status: 'skipped', reason: 'need "setup" failed' });
    expect(before['v-{item}']).toMatchObject({ status: 'skipped', reason: 'need "w-y" failed' });
    expect(before.sum!.status).toBe('skipped');
    expect(before.all!.status).toBe('failed');
    fs.writeFileSync(path.join(dir, 'fixed'), '');
    fs.rmSync(path.join(dir, 'ran'));
    const r = await jobrun(['retry', 'r.json', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    // what succeeded before does not run again: its reported results feed the rest
    expect(readLines(path.join(dir, 'ran')).sort()).toEqual(
      ['all', 'c-x', 'c-y', 'c-z', 'setup', 'sum', 'v-x-out', 'v-y-out', 'v-z-out', 'w-y'].sort(),
    );
    const line = (name: string, result: string[]) => JSON.stringify({ name, result });
    expect(fs.readFileSync(path.join(dir, 'sum.txt'), 'utf8')).toBe(
      [line('w-x', ['x-out']), line('w-y', ['y-out']), line('w-z', ['z-out']), ''].join('\n'),
    );
    expect(fs.readFileSync(path.join(dir, 'all.txt'), 'utf8')).toBe(
      line('split', ['x', 'y', 'z']) + '\n',
    );
    const jobs = byName(JSON.parse(r.stdout) as Report);
    for (const name of ['split', 'w-x', 'w-z'])
      expect(jobs[name], name).toMatchObject({
        status: 'succeeded',
        reason: 'succeeded in an earlier run',
        attempts: [],
      });
    expect(jobs['v-y-out']).toMatchObject({ status: 'succeeded', stage: 'v-{item}' });
    expect(jobs['c-z']).toMatchObject({ status: 'succeeded', stage: 'c-{item}' });
  });

  it('skips a re-expanded stage again when the source it waits on fails again', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `${SPLIT_THEN_W}  - name: v-{item}
    for_each: { from: "w-{item}" }
    run: echo v-{item} >> ran
`,
    });
    expect((await jobrun(['run', 'm.yaml', '--report', 'r.json'], { cwd: dir })).code).toBe(1);
    const r = await jobrun(['retry', 'r.json', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs['w-y']!.status).toBe('failed');
    expect(jobs['v-{item}']).toMatchObject({ status: 'skipped', reason: 'need "w-y" failed' });
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('without its manifest, a re-driven fan-in still reads all its sources (the report names them)', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `${SPLIT_THEN_W}  - name: sum
    stdin: { from: "w-{item}" }
    run: cat > sum.txt
`,
    });
    expect((await jobrun(['run', 'm.yaml', '--report', 'r.json'], { cwd: dir })).code).toBe(1);
    fs.rmSync(path.join(dir, 'm.yaml'));
    fs.writeFileSync(path.join(dir, 'fixed'), '');
    const r = await jobrun(['retry', 'r.json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const line = (name: string, result: string[]) => JSON.stringify({ name, result }) + '\n';
    expect(fs.readFileSync(path.join(dir, 'sum.txt'), 'utf8')).toBe(
      line('w-x', ['x-out']) + line('w-y', ['y-out']),
    );
  });

  it('skips again, without running it, a job whose need was cancelled in that run', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': `version: 1
jobs:
  - name: src
    run: echo src >> ran; echo x
  - name: fan
    stdin: { from: src }
    run: echo fan >> ran
  - name: other
    run: echo other >> ran
`,
    });
    // as `jobrun cancel src` leaves it: the report of that run, written by hand
    const job = (name: string, status: string, reason?: string) => ({
      id: name,
      name,
      command: 'true',
      cwd: dir,
      priority: 0,
      needs: name === 'fan' ? ['src'] : [],
      status,
      ...(reason && { reason }),
      allowFailure: false,
      attempts: [],
      endedAt: new Date().toISOString(),
    });
    fs.writeFileSync(
      path.join(dir, 'r.json'),
      JSON.stringify({
        version: 1,
        manifest: path.join(dir, 'm.yaml'),
        jobs: [
          job('src', 'cancelled', 'cancelled by jobrun cancel'),
          job('fan', 'skipped', 'need "src" cancelled'),
          job('other', 'failed'),
        ],
      }),
    );
    const r = await jobrun(['retry', 'r.json', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(1);
    expect(readLines(path.join(dir, 'ran'))).toEqual(['other']);
    const jobs = byName(JSON.parse(r.stdout) as Report);
    expect(jobs.fan).toMatchObject({
      status: 'skipped',
      reason: 'need "src" cancelled in the run it retries',
      attempts: [],
    });
    expect(jobs.other!.status).toBe('succeeded');
    expect(jobs.src).toBeUndefined();
  });
});
