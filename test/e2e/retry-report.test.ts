import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';

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

describe('a report or a manifest through a pipe', () => {
  it('jobrun retry <(cat report): reads the report from the pipe and re-runs what failed', async () => {
    const dir = tempDir();
    const run = await jobrun(
      ['run', '--stdin', '--report', 'r.json', '--', 'echo {} >> ran; [ {} = a ]'],
      { cwd: dir, input: 'a\nb\n' },
    );
    expect(run.code).toBe(1);
    // bash's process substitution: the report comes as /dev/fd/N, a pipe
    const r = spawnSync('bash', ['-c', `"$0" "$1" retry <(cat r.json)`, process.execPath, BIN], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toContain('1 job: 1 failed');
    expect(readLines(path.join(dir, 'ran'))).toEqual(['a', 'b', 'b']);
  });

  it('jobrun run <(make-jobs): the jobs run in the current folder, their journal resumes them', async () => {
    const dir = tempDir();
    const manifest =
      'version: 1\njobs:\n  - name: here\n    run: pwd >> where\n  - name: bad\n    run: exit 1\n';
    const viaPipe = (extra: string) =>
      spawnSync(
        'bash',
        ['-c', `"$0" "$1" run <(printf %s "$2") ${extra}`, process.execPath, BIN, manifest],
        {
          cwd: dir,
          encoding: 'utf8',
          timeout: 60_000,
        },
      );
    const first = viaPipe('--report r.json');
    expect(first.status, first.stderr).toBe(1);
    // not beside /dev/fd/N: the folder it ran from
    expect(readLines(path.join(dir, 'where'))).toEqual([fs.realpathSync(dir)]);
    expect(fs.existsSync(path.join(dir, '.jobrun', 'journal'))).toBe(true);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as {
      manifest: string | null;
    };
    expect(report.manifest).toBeNull();
    // the same jobs through another pipe: their journal says `here` succeeded
    const resumed = viaPipe('--resume');
    expect(resumed.status, resumed.stderr).toBe(1);
    expect(readLines(path.join(dir, 'where'))).toHaveLength(1);
  });

  it('a FIFO nobody writes to: jobrun waits for it, and Ctrl-C twice ends it (nothing ran)', async () => {
    const dir = tempDir();
    execFileSync('mkfifo', [path.join(dir, 'r.json')]);
    const r = await jobrun(['retry', 'r.json'], {
      cwd: dir,
      timeoutMs: 30_000,
      onSpawn: (child) =>
        void delay(1000)
          .then(() => child.kill('SIGINT'))
          .then(() => delay(500))
          .then(() => child.kill('SIGINT')),
    });
    // the first is held, as for any Ctrl-C before a run began; the second ends jobrun
    expect(r.stderr).toContain('SIGINT again: at once');
    expect(r.code === 130 || r.signal === 'SIGINT', `${r.code} ${r.signal}`).toBe(true);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a device is still refused before it is opened', async () => {
    const r = await jobrun(['retry', '/dev/zero'], { timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('jobrun: report /dev/zero is not a regular file (a device?)\n');
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
