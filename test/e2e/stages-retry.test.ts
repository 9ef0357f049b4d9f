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

  it('refuses, naming it, a stage it cannot rebuild (its source is not retried)', async () => {
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
    expect(r.stderr).toContain('"extract" is not retried');
  });
});
