import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobrun, tempDir, writeFiles } from './helpers.js';

describe('jobrun retry of a report with nothing to re-run', () => {
  it('says that jobs --only left out did not run, rather than that every job succeeded', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': 'jobs:\n  - name: ok\n    run: "true"\n  - name: bad\n    run: exit 1\n',
    });
    const run = await jobrun(['run', 'm.yaml', '--only', 'ok', '--report', 'r.json'], { cwd: dir });
    expect(run.code).toBe(0);
    const retry = await jobrun(['retry', 'r.json'], { cwd: dir });
    expect(retry.code).toBe(0);
    expect(retry.stderr).toBe(
      'jobrun: nothing to retry: every job in r.json that ran succeeded; 1 was left out by ' +
        '--only, which a retry does not run\n',
    );
  });
});

describe('jobrun retry of what is no report file', () => {
  it('refuses a FIFO (or a device) at once rather than block in opening it, deaf to signals', async () => {
    const dir = tempDir();
    execFileSync('mkfifo', [path.join(dir, 'r.json')]);
    const r = await jobrun(['retry', 'r.json'], { cwd: dir, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jobrun: report r.json is not a regular file (a device or a pipe?)\n');
  });
});
