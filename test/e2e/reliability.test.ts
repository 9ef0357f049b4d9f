import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { alive, BIN, jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';

describe('resume after kill -9', () => {
  it('skips what the journal says succeeded: every job done exactly once, none lost', async () => {
    const dir = tempDir();
    // job0..job2 finish; from job3 on a job waits for the file "go", so the first run is
    // always killed with job3 in flight, however slow the machine is
    const jobs = Array.from(
      { length: 6 },
      (_, i) =>
        `  - name: job${i}\n    run: "echo $$ >> pids; ${i >= 3 ? 'until [ -f go ]; do sleep 0.05; done; ' : ''}echo job${i} >> done"\n`,
    ).join('');
    writeFiles(dir, { 'm.yaml': `version: 1\nworkers: 1\njobs:\n${jobs}` });
    const journalDir = path.join(dir, '.jobrun/journal');
    // the journal alone: its lock's temporary file comes and goes as the run starts
    const journalText = () =>
      fs.existsSync(journalDir)
        ? fs
            .readdirSync(journalDir)
            .filter((f) => f.endsWith('.ndjson'))
            .map((f) => fs.readFileSync(path.join(journalDir, f), 'utf8'))
            .join('')
        : '';
    const journaled = (name: string, status: string) =>
      journalText()
        .split('\n')
        .some((line) => line.includes(`"name":"${name}"`) && line.includes(`"status":"${status}"`));
    const first = jobrun(['run', 'm.yaml'], {
      cwd: dir,
      onSpawn: (child) => {
        // job2's end and job3's start are journaled: the spawner may start job3 a moment
        // before jobrun hears job2 ended, and the starts it reports at once are journaled
        // before the ends among them, so neither job3's process nor its start proves job2's end
        void waitFor(
          () =>
            journaled('job2', 'succeeded') &&
            journaled('job3', 'running') &&
            readLines(path.join(dir, 'pids')).length >= 4,
          20_000,
          'job3 in flight',
        ).then(() => {
          child.kill('SIGKILL');
          // the machine "crashed": the job in flight dies with jobrun
          for (const pid of readLines(path.join(dir, 'pids')).map(Number)) {
            try {
              process.kill(-pid, 'SIGKILL');
            } catch {
              // already gone
            }
          }
        });
      },
    });
    const killed = await first;
    expect(killed.signal).toBe('SIGKILL');
    expect(readLines(path.join(dir, 'done'))).toEqual(['job0', 'job1', 'job2']);

    fs.writeFileSync(path.join(dir, 'go'), '');
    const resumed = await jobrun(['run', 'm.yaml', '--resume', '--json'], { cwd: dir });
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.stdout) as Report;
    expect(report.summary).toMatchObject({ total: 6, succeeded: 6 });
    expect(readLines(path.join(dir, 'done'))).toEqual([
      'job0',
      'job1',
      'job2',
      'job3',
      'job4',
      'job5',
    ]);
    const skipped = report.jobs.filter((j) => j.attempts.length === 0).map((j) => j.name);
    expect(skipped).toEqual(['job0', 'job1', 'job2']);
  });

  it('never runs a job beside what is left of it, also one whose start jobrun never heard of', async () => {
    const dir = tempDir();
    // k kills jobrun the moment it starts. With jobs queued behind it, its spawner holds the
    // news of k's start back a moment (to share a write), so jobrun most often dies not
    // knowing k started: only the spawner does, which stops k (SIGTERM). k takes a second
    // to clean up, holding k.lock; a k that starts meanwhile finds it taken.
    const k = [
      'trap "sleep 1; rmdir k.lock; exit 143" TERM',
      'mkdir k.lock 2>/dev/null || echo twice >> k.log',
      'echo $$ >> k.log',
      'if [ ! -e killed ]; then touch killed; kill -9 $(cat jobrun.pid); sleep 30 & wait; fi',
      'rmdir k.lock',
    ].join('\n');
    const quick = (name: string) => `  - { name: ${name}, run: "true" }\n`;
    writeFiles(dir, {
      'k.sh': k + '\n',
      'm.yaml':
        'version: 1\nworkers: 1\njobs:\n' +
        ['a1', 'a2'].map(quick).join('') +
        '  - { name: slow, run: "sleep 0.3" }\n' +
        '  - { name: k, run: "bash k.sh", kill_grace: 5s }\n' +
        ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'].map(quick).join(''),
    });
    const first = await jobrun(['run', 'm.yaml'], {
      cwd: dir,
      onSpawn: (child) => fs.writeFileSync(path.join(dir, 'jobrun.pid'), String(child.pid)),
    });
    expect(first.signal).toBe('SIGKILL');
    const resumed = await jobrun(['run', 'm.yaml', '--resume', '--json'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const ks = readLines(path.join(dir, 'k.log'));
    expect(ks, 'k ran beside what was left of it').not.toContain('twice');
    expect(ks).toHaveLength(2);
  });

  it('re-runs a job whose command changed since it succeeded', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': 'version: 1\njobs:\n  - { name: a, run: "echo one >> log" }\n' });
    expect((await jobrun(['run', 'm.yaml'], { cwd: dir })).code).toBe(0);
    expect((await jobrun(['run', 'm.yaml', '--resume'], { cwd: dir })).code).toBe(0);
    expect(readLines(path.join(dir, 'log'))).toEqual(['one']);
    writeFiles(dir, { 'm.yaml': 'version: 1\njobs:\n  - { name: a, run: "echo two >> log" }\n' });
    expect((await jobrun(['run', 'm.yaml', '--resume'], { cwd: dir })).code).toBe(0);
    expect(readLines(path.join(dir, 'log'))).toEqual(['one', 'two']);
  });
});

describe('graceful shutdown', () => {
  const trapping = (grace: string, onTerm: string) =>
    `version: 1\nworkers: 2\ndefaults:\n  kill_grace: ${grace}\njobs:\n` +
    [1, 2, 3]
      .map(
        (i) =>
          `  - name: t${i}\n    run: "trap '${onTerm}' TERM; sleep 60 & echo $! >> pids; echo $$ >> pids; wait; wait"\n`,
      )
      .join('');

  /** Runs the manifest in `dir`; once two jobs (four pids) are up, calls `signal`. */
  const runAndSignal = (dir: string, args: string[], signal: (child: ChildProcess) => unknown) =>
    jobrun(['run', 'm.yaml', ...args], {
      cwd: dir,
      onSpawn: (child) => {
        void waitFor(
          () => readLines(path.join(dir, 'pids')).length >= 4,
          10_000,
          'jobs to start',
        ).then(() => signal(child));
      },
    });

  /** Every process the jobs recorded is gone. */
  const noOrphans = (dir: string) => {
    const pids = readLines(path.join(dir, 'pids')).map(Number);
    return waitFor(() => pids.every((p) => !alive(p)), 5000, 'no orphans');
  };

  it('Ctrl-C: TERM reaches the jobs, nothing is orphaned, report complete, exit 130', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': trapping('5s', 'echo got-term >> trapped; kill $!; exit 0') });
    const r = await runAndSignal(dir, ['--report', 'r.json'], (child) => child.kill('SIGINT'));
    expect(r.signal).toBe('SIGINT'); // re-raised once all is written: a shell loop sees the death
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readLines(path.join(dir, 'trapped'))).toEqual(['got-term', 'got-term']);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as Report;
    expect(report.interrupted).toBe('SIGINT');
    expect(report.exitCode).toBe(130);
    expect(report.summary).toMatchObject({ total: 3, cancelled: 3 });
    expect(report.jobs.filter((j) => j.attempts.length === 1)).toHaveLength(2);
    await noOrphans(dir);
  });

  it('a second Ctrl-C skips the kill grace; SIGTERM exits 143', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': trapping('60s', 'echo ignoring') });
    const started = Date.now();
    const r = await runAndSignal(dir, [], async (child) => {
      child.kill('SIGINT');
      await new Promise((res) => setTimeout(res, 300));
      child.kill('SIGINT');
    });
    expect(r.signal).toBe('SIGINT');
    expect(Date.now() - started).toBeLessThan(30_000); // far below the 60 s grace
    await noOrphans(dir);

    const dir2 = tempDir();
    writeFiles(dir2, { 'm.yaml': trapping('200ms', 'exit 0') });
    const t = await runAndSignal(dir2, [], (child) => child.kill('SIGTERM'));
    expect(t.signal).toBe('SIGTERM');
  });
});

describe('backpressure on --stdin', () => {
  it('reads no further than --max-queue allows while jobs are slow', async () => {
    const dir = tempDir();
    const child = spawn(
      process.execPath,
      [
        BIN,
        'run',
        '--stdin',
        '-j',
        '1',
        '--max-queue',
        '50',
        '--progress',
        'none',
        '--',
        'sleep 30; true',
      ],
      { cwd: dir, stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, CI: 'true' } },
    );
    const line = 'x'.repeat(60) + '\n';
    let written = 0;
    let blocked = false;
    const deadline = Date.now() + 3000;
    // the producer: writes as fast as the pipe accepts, for 3 s at most, 1,000,000 lines at most
    while (Date.now() < deadline && written < 1_000_000) {
      if (!child.stdin.write(line)) {
        blocked = true;
        const drained = await Promise.race([
          new Promise<boolean>((res) => child.stdin.once('drain', () => res(true))),
          new Promise<boolean>((res) =>
            setTimeout(() => res(false), Math.max(0, deadline - Date.now())),
          ),
        ]);
        if (!drained) break;
      }
      written++;
    }
    expect(blocked).toBe(true);
    // 50 queued + kernel pipe and stream buffers (~200 KiB of 61-byte lines): far below a million
    expect(written).toBeLessThan(10_000);
    child.stdin.on('error', () => {});
    const exited = new Promise<string | null>((res) =>
      child.on('exit', (_, signal) => res(signal)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe('SIGTERM');
  });
});

describe('halt policies, order and the dead-letter re-drive', () => {
  it('--fail-fast cancels what has not started, and is named --fail-fast wherever it shows', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\nworkers: 1\njobs:\n  - { name: a, run: "exit 1" }\n  - { name: b, run: "true" }\n  - { name: c, run: "true" }\n',
    });
    const r = await jobrun(['run', 'm.yaml', '--fail-fast', '--json', '--junit', 'j.xml'], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.summary).toMatchObject({ failed: 1, cancelled: 2 });
    expect(report.halted).toBe('--fail-fast');
    expect(report.jobs.find((j) => j.name === 'b')?.reason).toBe('halted by --fail-fast');
    expect(r.stderr).toContain('3 jobs: 1 failed, 2 cancelled');
    expect(r.stderr).toContain('(halted by --fail-fast)');
    const junit = fs.readFileSync(path.join(dir, 'j.xml'), 'utf8');
    expect(junit).toContain('halted by --fail-fast');
    for (const text of [r.stderr, junit]) expect(text).not.toContain('--halt');
  });

  it('--order lifo starts the newest first; --joblog writes parallel columns', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\nworkers: 1\njobs:\n  - { name: a, run: "echo a >> order" }\n  - { name: b, run: "echo b >> order" }\n  - { name: c, run: "exit 3" }\n',
    });
    const r = await jobrun(['run', 'm.yaml', '--order', 'lifo', '--joblog', 'jobs.tsv'], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    expect(readLines(path.join(dir, 'order'))).toEqual(['b', 'a']);
    const rows = readLines(path.join(dir, 'jobs.tsv')).map((l) => l.split('\t'));
    expect(rows[0]).toEqual([
      'Seq',
      'Host',
      'Starttime',
      'JobRuntime',
      'Send',
      'Receive',
      'Exitval',
      'Signal',
      'Command',
    ]);
    expect(rows.slice(1).map((r) => [r[0], r[6], r[8]])).toEqual([
      ['3', '3', 'exit 3'],
      ['2', '0', 'echo b >> order'],
      ['1', '0', 'echo a >> order'],
    ]);
  });

  it('jobrun retry re-runs only the failed jobs and what they held back', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': [
        'version: 1',
        'workers: 1',
        'jobs:',
        '  - { name: ok, run: "echo ok >> ran" }',
        '  - { name: flaky, run: "echo flaky >> ran; test -f fixed" }',
        '  - { name: after, run: "echo after >> ran", needs: [flaky, ok] }',
        '',
      ].join('\n'),
    });
    const first = await jobrun(['run', 'm.yaml', '--report', 'r.json'], { cwd: dir });
    expect(first.code).toBe(1);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as Report;
    expect(report.jobs.find((j) => j.name === 'flaky')!.attempts).toHaveLength(1);
    fs.writeFileSync(path.join(dir, 'fixed'), '');
    fs.writeFileSync(path.join(dir, 'ran'), '');
    const again = await jobrun(['retry', 'r.json', '--json'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(readLines(path.join(dir, 'ran'))).toEqual(['flaky', 'after']);
    const second = JSON.parse(again.stdout) as Report;
    expect(second.jobs.map((j) => [j.name, j.status])).toEqual([
      ['flaky', 'succeeded'],
      ['after', 'succeeded'],
    ]);
  });

  it('scales workers between min and max and says so', async () => {
    const dir = tempDir();
    const jobs = Array.from(
      { length: 6 },
      (_, i) => `  - { name: j${i}, run: "sleep 0.3" }\n`,
    ).join('');
    writeFiles(dir, { 'm.yaml': `version: 1\njobs:\n${jobs}` });
    const r = await jobrun(['run', 'm.yaml', '-j', '1:3', '--events'], { cwd: dir });
    expect(r.code).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; workers?: number });
    expect(events.filter((e) => e.type === 'workers_change').map((e) => e.workers)).toContain(3);
    expect(r.stderr).toContain('workers: 3');
  });
});
