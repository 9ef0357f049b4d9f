import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';

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

describe('jobrun retry stopped part way', () => {
  it('says how to finish it, and that line runs only what the retry did not finish', async () => {
    const dir = tempDir();
    const at = (name: string) => path.join(dir, name);
    // b, c, d fail until `go` exists; in the retry c waits (until `go2`) for the Ctrl-C
    const job =
      '[ -e go ] || { [ {} = a ]; exit; }; [ {} = b ] || [ -e go2 ] || { touch started; sleep 30; }; echo {} >> ran';
    const run = await jobrun(['run', '--report', 'r.json', '--', job, ':::', 'a', 'b', 'c', 'd'], {
      cwd: dir,
    });
    expect(run.code, run.stderr).toBe(1);
    writeFiles(dir, { go: '', ran: '' });
    // -j 1: b has ended when c starts
    const retry = await jobrun(['retry', 'r.json', '-j', '1', '--report', 'r2.json'], {
      cwd: dir,
      onSpawn: (child) =>
        void waitFor(() => fs.existsSync(at('started')), 20_000, 'c to start').then(() =>
          child.kill('SIGINT'),
        ),
    });
    expect(retry.signal, retry.stderr).toBe('SIGINT');
    expect(readLines(at('ran'))).toEqual(['b']);
    const hint = /jobrun: to run what did not finish: jobrun (.*)\n$/.exec(retry.stderr)?.[1];
    expect(hint, retry.stderr).toBe('retry r.json -j 1 --report r2.json --resume');
    // as printed: b, which the retry finished, does not run again (the run's --resume would)
    writeFiles(dir, { go2: '' });
    const resumed = await jobrun(hint!.split(' '), { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(readLines(at('ran'))).toEqual(['b', 'c', 'd']);
    const report = JSON.parse(fs.readFileSync(at('r2.json'), 'utf8')) as { exitCode: number };
    expect(report.exitCode).toBe(0);
  });
});
