import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { alive, BIN, jobrun, readLines, ROOT, tempDir, waitFor, writeFiles } from './helpers.js';

/**
 * What users do to a CLI that a happy path never shows: a closed pipe, a lost
 * terminal, a crash inside jobrun, kill -9 then --resume, two runs at once, a full
 * disk, a deleted log folder, bad values. After each, no job process may be left.
 */

const NO_TRACE = /\n\s+at /;

/** Running: alive and not a zombie (an orphan's zombie waits for an init that may not reap). */
const running = (pid: number) => {
  if (!alive(pid)) return false;
  try {
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/** Every pid the jobs wrote to `dir/pids` is gone (SIGKILLed groups die at once). */
const noOrphans = (dir: string) => {
  const pids = readLines(path.join(dir, 'pids')).map(Number);
  return waitFor(() => pids.every((p) => !running(p)), 5000, `no orphans of ${pids.join(',')}`);
};

/** A job that records its shell's pid and runs until stopped. */
const LONG = 'echo $$ >> pids; sleep 30 & wait';

const manifest = (jobs: string[], extra = '') =>
  `version: 1\nworkers: 2\n${extra}jobs:\n` +
  jobs.map((run, i) => `  - name: j${i + 1}\n    run: ${JSON.stringify(run)}\n`).join('');

const report = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Report;

/** Spawns the bin with a node option (a preload that breaks something on purpose). */
function spawnBin(args: string[], cwd: string, nodeArgs: string[] = []): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, BIN, ...args], {
    cwd,
    env: { ...process.env, CI: 'true', NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function collect(child: ChildProcess): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout?.on('error', () => {});
  child.stdin?.on('error', () => {});
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    }),
  );
}

describe('a closed stdout (item 3)', () => {
  it('stops the run as SIGTERM does, writes the report, exits 141 without a trace', async () => {
    const dir = tempDir();
    const child = spawnBin(
      [
        'run',
        '--stdin',
        '-j',
        '3',
        '--events',
        '--output',
        'stream',
        '--report',
        'r.json',
        '--',
        'echo $$ >> pids; while :; do echo tick {}; sleep 0.05; done',
      ],
      dir,
    );
    child.stdin!.end('1\n2\n3\n4\n5\n6\n');
    const done = collect(child);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 3, 10_000, 'jobs up');
    child.stdout!.destroy(); // the reader goes away, like `| head -1`
    const r = await done;
    expect(r.code).toBe(141);
    expect(r.stderr).not.toMatch(NO_TRACE);
    expect(r.stderr).not.toContain('EPIPE');
    const rep = report(path.join(dir, 'r.json'));
    expect(rep.interrupted).toBe('SIGPIPE');
    expect(rep.summary).toMatchObject({ total: 6, cancelled: 6 });
    await noOrphans(dir);
  });

  it('--dry-run and help just stop quietly when the reader goes away', () => {
    const dir = tempDir();
    const sh = (cmd: string) =>
      spawnSync('bash', ['-c', cmd], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    const dry = sh(
      `seq 1 20000 | "${process.execPath}" "${BIN}" run --stdin --dry-run -- echo {} | head -1; echo "status \${PIPESTATUS[1]}" >&2`,
    );
    expect(dry.stdout).toBe('1. 1\n');
    expect(dry.stderr).toBe('status 141\n');
    const help = sh(`"${process.execPath}" "${BIN}" help run | head -3`);
    expect(help.stdout.split('\n')).toHaveLength(4);
    expect(help.stderr).toBe('');
  });
});

describe('SIGHUP, SIGQUIT and Ctrl-C with stdin open (items 4, 8)', () => {
  const runAndSignal = async (signal: NodeJS.Signals) => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest([LONG, LONG, LONG], 'defaults:\n  kill_grace: 2s\n') });
    const child = spawnBin(['run', 'm.yaml', '--report', 'r.json', '--progress', 'plain'], dir);
    child.stdin!.end();
    const done = collect(child);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 2, 10_000, 'jobs up');
    child.kill(signal);
    const r = await done;
    await noOrphans(dir);
    return { r, rep: report(path.join(dir, 'r.json')) };
  };

  it('SIGHUP stops the jobs, writes the report, and dies of SIGHUP (129)', async () => {
    const { r, rep } = await runAndSignal('SIGHUP');
    expect(r.signal).toBe('SIGHUP');
    expect(rep).toMatchObject({ interrupted: 'SIGHUP', exitCode: 129 });
    expect(rep.summary).toMatchObject({ total: 3, cancelled: 3 });
  });

  it('SIGQUIT is handled the same way and exits 131', async () => {
    const { r, rep } = await runAndSignal('SIGQUIT');
    expect(r.code).toBe(131);
    expect(rep).toMatchObject({ interrupted: 'SIGQUIT', exitCode: 131 });
  });

  it('Ctrl-C while --stdin is still open prints no ERR_STREAM_PREMATURE_CLOSE', async () => {
    const dir = tempDir();
    const child = spawnBin(['run', '--stdin', '-j', '2', '--', `${LONG}; : {}`], dir);
    child.stdin!.write('a\nb\n'); // and stdin stays open
    const done = collect(child);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 2, 10_000, 'jobs up');
    child.kill('SIGINT');
    const r = await done;
    expect(r.signal).toBe('SIGINT');
    expect(r.stderr).not.toContain('PREMATURE_CLOSE');
    expect(r.stderr).not.toMatch(NO_TRACE);
    await noOrphans(dir);
  });

  it('a shell loop sees the death by SIGINT and stops', () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest([LONG]) });
    // bash waits for its child; the child alone gets the SIGINT, then bash decides
    const script =
      `for i in 1 2; do "${process.execPath}" "${BIN}" run m.yaml --progress none & ` +
      `p=$!; while [ ! -s pids ]; do sleep 0.05; done; kill -INT $p; wait $p; echo "rc $?"; rm -f pids; done`;
    const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).toBe('rc 130\nrc 130\n'); // $? is 130 = 128 + SIGINT: a death by signal
  });
});

describe('a signal while the run starts', () => {
  /**
   * jobrun holds the stop signals from its bin's first line: before that only node's own
   * start-up runs. A caught SIGHUP (bit 0 of SigCgt) says the hold is in place; node
   * catches no SIGHUP of its own.
   */
  const holding = (pid: number) => {
    try {
      const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(
        fs.readFileSync(`/proc/${pid}/status`, 'utf8'),
      );
      return caught !== null && (BigInt(`0x${caught[1]}`) & 1n) === 1n;
    } catch {
      return false;
    }
  };

  /** jobrun reading its manifest from stdin (`run -`), which stays open until `end`. */
  const starting = async (args: string[]) => {
    const dir = tempDir();
    const child = spawnBin(['run', '-', '--progress', 'plain', ...args], dir);
    const done = collect(child);
    await waitFor(() => holding(child.pid!), 10_000, 'signals held');
    const end = () => child.stdin!.end(manifest([LONG, LONG, LONG]));
    let stderr = '';
    child.stderr!.on('data', (d: string) => (stderr += d));
    const said = (text: string) => waitFor(() => stderr.includes(text), 10_000, text);
    return { dir, child, done, end, said };
  };

  it('a stop before the manifest is read stops the run once it starts: reports written, no job started', async () => {
    const { dir, child, done, end, said } = await starting(['--report', 'r.json', '--events']);
    child.kill('SIGINT');
    await said('jobrun: SIGINT: the run stops as soon as it has started (SIGINT again: at once)');
    end();
    const r = await done;
    expect(r.signal).toBe('SIGINT');
    const rep = report(path.join(dir, 'r.json'));
    expect(rep).toMatchObject({ interrupted: 'SIGINT', exitCode: 130 });
    expect(rep.summary).toMatchObject({ total: 3, cancelled: 3 });
    expect(fs.existsSync(path.join(dir, 'pids'))).toBe(false); // no job ever ran
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    expect(events.at(-1)?.type).toBe('run_end');
  });

  it('a stop before a run that never comes (--dry-run) says nothing ran, and dies of it', async () => {
    const { child, done, end, said } = await starting(['--dry-run']);
    child.kill('SIGTERM');
    await said('jobrun: SIGTERM: the run stops as soon as it has started');
    end();
    const r = await done;
    expect(r.signal).toBe('SIGTERM');
    expect(r.stderr).toContain(
      'jobrun: interrupted by SIGTERM before the run started: nothing ran, no report was written',
    );
  });

  it('a second signal before the run started ends jobrun at once', async () => {
    const { dir, child, done, said } = await starting(['--report', 'r.json']);
    child.kill('SIGINT');
    await said('jobrun: SIGINT: the run stops as soon as it has started');
    child.kill('SIGINT'); // and the manifest never comes
    const r = await done;
    expect(r.signal).toBe('SIGINT');
    expect(r.stderr).toContain('jobrun: SIGINT again before the run started: stopped at once');
    expect(fs.existsSync(path.join(dir, 'r.json'))).toBe(false);
  });

  it('a stop at any early point from the hold on leaves a report, and no job behind', async () => {
    for (const delayMs of [0, 40, 120, 300]) {
      const dir = tempDir();
      writeFiles(dir, { 'm.yaml': manifest([LONG, LONG, LONG]) });
      const child = spawnBin(['run', 'm.yaml', '--report', 'r.json', '--progress', 'none'], dir);
      child.stdin!.end();
      const done = collect(child);
      await waitFor(() => holding(child.pid!), 10_000, 'signals held');
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      child.kill('SIGINT');
      const r = await done;
      expect(r.signal, `SIGINT ${delayMs} ms after the hold`).toBe('SIGINT');
      const rep = report(path.join(dir, 'r.json'));
      expect(rep.interrupted).toBe('SIGINT');
      expect(rep.summary).toMatchObject({ total: 3, cancelled: 3 });
      if (fs.existsSync(path.join(dir, 'pids'))) await noOrphans(dir);
    }
  });
});

describe('unplanned deaths take the job groups along (item 5)', () => {
  /** A preload that breaks jobrun from inside once two jobs run. */
  const crashWhenUp = (dir: string, how: string) => {
    const file = path.join(dir, 'crash.mjs');
    fs.writeFileSync(
      file,
      `import fs from 'node:fs';\n` +
        `const t = setInterval(() => {\n` +
        `  let n = 0; try { n = fs.readFileSync('pids', 'utf8').trim().split('\\n').length; } catch {}\n` +
        `  if (n >= 2) { clearInterval(t); ${how} }\n` +
        `}, 20);\n`,
    );
    return ['--import', file];
  };

  it('an unhandled rejection: exit 70, every job group killed', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest([LONG, LONG, LONG]) });
    const child = spawnBin(
      ['run', 'm.yaml', '--progress', 'none'],
      dir,
      crashWhenUp(dir, `Promise.reject(new Error('boom'));`),
    );
    child.stdin!.end();
    const r = await collect(child);
    expect(r.code).toBe(70);
    expect(r.stderr).toContain('internal error');
    await noOrphans(dir);
  });

  it('a reporter that throws: the run stops cleanly, the report is written, exit 70', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest([LONG, LONG, LONG]) });
    // the plain reporter's next line to stderr throws
    const how =
      `const w = process.stderr.write.bind(process.stderr); ` +
      `process.stderr.write = (s, ...a) => { if (String(s).includes('cancelled')) throw new Error('reporter bug'); return w(s, ...a); }; ` +
      `process.kill(process.pid, 'SIGINT');`;
    const child = spawnBin(
      ['run', 'm.yaml', '--report', 'r.json', '--progress', 'plain'],
      dir,
      crashWhenUp(dir, how),
    );
    child.stdin!.end();
    const r = await collect(child);
    expect(r.code).toBe(70);
    expect(r.stderr).toContain('internal error in a reporter');
    expect(report(path.join(dir, 'r.json')).summary).toMatchObject({ total: 3, cancelled: 3 });
    await noOrphans(dir);
  });
});

describe('zombies do not hold slots (item 6)', () => {
  const timeoutRun = (prefix: string[]) => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\ndefaults:\n  timeout: 300ms\n  kill_grace: 10s\njobs:\n' +
        '  - { name: t, run: "echo x; sleep 30" }\n',
    });
    const r = spawnSync(
      prefix[0] ?? process.execPath,
      [
        ...prefix.slice(1),
        ...(prefix.length ? [process.execPath] : []),
        BIN,
        'run',
        'm.yaml',
        '--report',
        'r.json',
        '--progress',
        'none',
      ],
      { cwd: dir, encoding: 'utf8', timeout: 30_000, env: { ...process.env, CI: 'true' } },
    );
    return { r, rep: report(path.join(dir, 'r.json')) };
  };

  it('a timed-out job that obeys SIGTERM ends long before its 10 s kill grace', () => {
    const { r, rep } = timeoutRun([]);
    expect(r.status).toBe(1);
    expect(rep.jobs[0]).toMatchObject({ status: 'timed_out' });
    expect(rep.jobs[0]!.attempts[0]!.durationMs).toBeLessThan(5000);
  });

  const canUnshare =
    spawnSync('unshare', ['-fp', '--mount-proc', 'true'], { timeout: 10_000 }).status === 0;

  it.skipIf(!canUnshare)('also when jobrun is PID 1 and nobody reaps the zombies', () => {
    const { r, rep } = timeoutRun(['unshare', '-fp', '--mount-proc']);
    expect(r.status).toBe(1);
    expect(rep.jobs[0]).toMatchObject({ status: 'timed_out' });
    expect(rep.jobs[0]!.attempts[0]!.durationMs).toBeLessThan(5000);
  });
});

describe('kill -9, then --resume (item 7)', () => {
  it('stops leftover groups first: no job runs beside its orphan, each finishes once', async () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'm'));
    // a first run of a job hangs (until stopped), a second one finishes at once
    const run =
      'if [ -e m/{item}.started ]; then echo {item} >> done; else echo $$ >> pids; ' +
      'touch m/{item}.started; trap "echo {item} >> stopped; exit 143" TERM; sleep 30 & wait; fi';
    writeFiles(dir, {
      'm.yaml':
        'version: 1\nworkers: 3\njobs:\n  - name: quick\n    run: echo quick >> done\n' +
        `  - name: slow-{item}\n    for_each: [a, b, c]\n    needs: [quick]\n    run: ${JSON.stringify(run)}\n`,
    });
    // node:child_process jobs outlive a kill -9 of jobrun (a spawner's jobs do not)
    const first = spawnBin(['run', 'm.yaml', '--progress', 'none', '--spawner', 'child'], dir);
    first.stdin!.end();
    const firstDone = collect(first);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 3, 10_000, 'slow jobs up');
    const journal = () =>
      fs.readdirSync(path.join(dir, '.jobrun/journal')).find((f) => f.endsWith('.ndjson'));
    await waitFor(
      () =>
        readLines(path.join(dir, '.jobrun/journal', journal() ?? 'none')).filter((l) =>
          l.includes('"running"'),
        ).length >= 4,
      10_000,
      'starts journaled',
    );
    first.kill('SIGKILL');
    await firstDone;
    const orphans = readLines(path.join(dir, 'pids')).map(Number);
    expect(orphans.every(running)).toBe(true); // without a spawner, groups outlive kill -9
    const r = await jobrun(
      ['run', 'm.yaml', '--resume', '--report', 'r.json', '--progress', 'none'],
      {
        cwd: dir,
      },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('stopped 3 jobs still running from the interrupted run');
    // every orphan got TERM (and wrote so) before its job ran again
    expect(readLines(path.join(dir, 'stopped')).sort()).toEqual(['a', 'b', 'c']);
    expect(readLines(path.join(dir, 'done')).sort()).toEqual(['a', 'b', 'c', 'quick']);
    const rep = report(path.join(dir, 'r.json'));
    expect(rep.jobs.find((j) => j.name === 'quick')?.reason).toBe('succeeded in an earlier run');
    expect(orphans.every((p) => !running(p))).toBe(true);
  });

  it('a job that exited 0 just before the Ctrl-C is reported succeeded', async () => {
    const dir = tempDir();
    // hold jobrun's event loop so that the job's exit and the SIGINT are both pending
    fs.writeFileSync(
      path.join(dir, 'hold.mjs'),
      `import fs from 'node:fs';\nprocess.on('SIGUSR2', () => { while (!fs.existsSync('release')) {} });\n`,
    );
    writeFiles(dir, {
      'm.yaml': manifest([
        'echo $$ >> pids; while [ ! -e go ]; do sleep 0.02; done; exit 0',
        `${LONG}`,
      ]),
    });
    const child = spawnBin(['run', 'm.yaml', '--report', 'r.json', '--progress', 'none'], dir, [
      '--import',
      path.join(dir, 'hold.mjs'),
    ]);
    child.stdin!.end();
    const done = collect(child);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 2, 10_000, 'jobs up');
    const quick = readLines(path.join(dir, 'pids'))
      .map(Number)
      .find((pid) => {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('go');
      })!;
    child.kill('SIGUSR2');
    await new Promise((res) => setTimeout(res, 100));
    fs.writeFileSync(path.join(dir, 'go'), '');
    // a zombie, or gone: reaped between two looks at /proc, which fails the read (ESRCH)
    const exited = () => {
      try {
        return fs.readFileSync(`/proc/${quick}/stat`, 'utf8').includes(') Z');
      } catch {
        return true;
      }
    };
    await waitFor(exited, 10_000, 'the job to exit');
    child.kill('SIGINT');
    await new Promise((res) => setTimeout(res, 100));
    fs.writeFileSync(path.join(dir, 'release'), '');
    await done;
    const rep = report(path.join(dir, 'r.json'));
    expect(rep.jobs.find((j) => j.name === 'j1')).toMatchObject({
      status: 'succeeded',
      exitCode: 0,
    });
    expect(rep.jobs.find((j) => j.name === 'j2')).toMatchObject({ status: 'cancelled' });
    await noOrphans(dir);
  });
});

describe('one run per journal (item 10)', () => {
  it('a second run of the same manifest is refused while the first lives; a stale lock is not', async () => {
    const dir = tempDir();
    // hangs the first time only, so the resumed run can finish
    writeFiles(dir, { 'm.yaml': manifest([`[ -e started ] || { touch started; ${LONG}; }`]) });
    const first = spawnBin(['run', 'm.yaml', '--progress', 'none', '--spawner', 'child'], dir);
    first.stdin!.end();
    const firstDone = collect(first);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 1, 10_000, 'job up');
    const second = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`another jobrun (pid ${first.pid}`);
    expect(second.stderr).not.toMatch(NO_TRACE);
    first.kill('SIGKILL');
    await firstDone;
    // the lock of a kill -9'd run is stale: the next run takes it over
    const third = await jobrun(['run', 'm.yaml', '--resume', '--progress', 'none'], { cwd: dir });
    expect(third.stderr).toContain('stopped 1 job still running');
    expect(third.code).toBe(0);
    await noOrphans(dir);
  });

  it('manifests on stdin (run -) have a journal each: two run side by side, the same one resumes', async () => {
    const dir = tempDir();
    const first = spawnBin(['run', '-', '--progress', 'none'], dir);
    first.stdin!.end(manifest([LONG]));
    const firstDone = collect(first);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 1, 10_000, 'job up');
    const other = manifest(['echo one', 'exit 3']);
    const second = await jobrun(['run', '-', '--progress', 'none'], { cwd: dir, input: other });
    expect(second.stderr).not.toContain('another jobrun');
    expect(second.code).toBe(1); // j2 failed
    const again = ['run', '-', '--resume', '--progress', 'none', '--report', 'r.json'];
    const resumed = await jobrun(again, { cwd: dir, input: other });
    expect(resumed.code).toBe(1);
    const rep = report(path.join(dir, 'r.json'));
    // its own journal: j1 succeeded before and is skipped, j2 runs again
    expect(rep.jobs.map((j) => [j.name, j.status, j.reason])).toEqual([
      ['j1', 'succeeded', 'succeeded in an earlier run'],
      ['j2', 'failed', undefined],
    ]);
    first.kill('SIGINT');
    expect((await firstDone).signal).toBe('SIGINT');
    await noOrphans(dir);
  });
});

describe('one run at a time per --logs folder', () => {
  it('a second run is refused while the first writes there; a dead one’s lock and an ended run’s folder are reused', async () => {
    const dir = tempDir();
    const logs = path.join(dir, 'logs');
    const logsIn = () =>
      fs
        .readdirSync(logs)
        .filter((name) => /\.(log|lock)$/.test(name))
        .sort();
    // hangs the first time only, so the resumed run can finish
    writeFiles(dir, {
      'm.yaml': manifest([`[ -e started ] || { touch started; echo first; ${LONG}; }; echo done`]),
    });
    const first = spawnBin(
      ['run', 'm.yaml', '--logs', 'logs', '--progress', 'none', '--spawner', 'child'],
      dir,
    );
    first.stdin!.end();
    const firstDone = collect(first);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 1, 10_000, 'job up');
    // another command (another journal): only the log folder is shared, and its log ids
    const second = await jobrun(['run', '--logs', 'logs', '--', 'echo', ':::', 'second'], {
      cwd: dir,
    });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`--logs logs: another jobrun (pid ${first.pid}`);
    expect(second.stderr).not.toMatch(NO_TRACE);
    expect(logsIn()).toEqual(['.jobrun.lock', '1-j1.log']);
    expect(fs.readFileSync(path.join(logs, '1-j1.log'), 'utf8')).toBe('first\n');
    first.kill('SIGKILL');
    await firstDone;
    // the lock of a kill -9'd run is stale: --resume with the same folder takes it over
    const third = await jobrun(
      ['run', 'm.yaml', '--resume', '--logs', 'logs', '--progress', 'none'],
      { cwd: dir },
    );
    expect(third.stderr).toContain('stopped 1 job still running');
    expect(third.code).toBe(0);
    expect(fs.readFileSync(path.join(logs, '1-j1.log'), 'utf8')).toBe('done\n');
    await noOrphans(dir);
    // a run after the last one ended reuses the folder, and leaves no lock behind
    const fourth = await jobrun(['run', '--logs', 'logs', '--', 'echo', ':::', 'again'], {
      cwd: dir,
    });
    expect(fourth.code).toBe(0);
    expect(logsIn()).toEqual(['1-again.log', '1-j1.log']);
  });
});

describe('full disks, deleted folders, atomic reports', () => {
  const journalOf = (dir: string, manifestFile: string) =>
    path.join(
      dir,
      '.jobrun/journal',
      createHash('sha256')
        .update(path.join(fs.realpathSync(dir), manifestFile))
        .digest('hex')
        .slice(0, 16) + '.ndjson',
    );

  it('a journal on a full disk: the run goes on, says so, no trace', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest(['true', 'true', 'true']) });
    const journal = journalOf(dir, 'm.yaml');
    fs.mkdirSync(path.dirname(journal), { recursive: true });
    fs.symlinkSync('/dev/full', journal);
    const r = await jobrun(['run', 'm.yaml', '--report', 'r.json', '--progress', 'none'], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/cannot write the journal .*ENOSPC/);
    expect(r.stderr).not.toMatch(NO_TRACE);
    expect(report(path.join(dir, 'r.json')).summary).toMatchObject({ succeeded: 3 });
  });

  it('a log folder deleted mid-run is made again', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\nworkers: 1\njobs:\n  - { name: a, run: "rm -rf logs" }\n' +
        '  - { name: b, run: "echo hello", needs: [a] }\n',
    });
    const r = await jobrun(
      ['run', 'm.yaml', '--logs', 'logs', '--report', 'r.json', '--progress', 'none'],
      { cwd: dir },
    );
    expect(r.code).toBe(0);
    const b = report(path.join(dir, 'r.json')).jobs.find((j) => j.name === 'b')!;
    expect(path.dirname(b.log!)).toBe(path.join(fs.realpathSync(dir), 'logs'));
    expect(fs.readFileSync(b.log!, 'utf8')).toBe('hello\n');
  });

  it.each([['default'], ['child']])(
    'a log deleted before its output was shown is said, and the run exits 1 (%s spawner)',
    async (spawner) => {
      const dir = tempDir();
      // b ends first; with --keep-order its output waits for a, which deletes the folder
      // once b's output is in its files
      writeFiles(dir, {
        'm.yaml':
          'version: 1\nworkers: 2\njobs:\n' +
          '  - { name: a, run: "while [ ! -s logs/2-b.stdout ]; do sleep 0.05; done; rm -rf logs" }\n' +
          '  - { name: b, run: "echo out-b" }\n',
      });
      const args = ['run', 'm.yaml', '--logs', 'logs', '--keep-order', '--report', 'r.json'];
      if (spawner === 'child') args.push('--spawner', 'child');
      const r = await jobrun([...args, '--progress', 'none'], { cwd: dir });
      const said = 'the log of b was removed before its output could be shown';
      expect(r.stdout).toBe('');
      expect(r.stderr.split(`jobrun: ${said}\n`)).toHaveLength(2); // once
      expect(r.stderr).toContain(`jobrun: the run ended, but ${said} (exit 1)`);
      expect(r.code).toBe(1);
      const written = report(path.join(dir, 'r.json'));
      expect(written.summary).toMatchObject({ succeeded: 2 });
      expect(written).toMatchObject({ exitCode: 1, outputError: said });
    },
  );

  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    const probe = tempDir();
    const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe]).status === 0;
    if (ok) spawnSync('umount', [probe]);
    return ok;
  })();

  /**
   * A folder `dir` whose `logs` is a 64 KB tmpfs and whose one job prints 1 MB (`m.yaml`),
   * for `use`; unmounted after.
   */
  async function withFullLogDisk(use: (dir: string) => Promise<void>): Promise<void> {
    const dir = tempDir();
    const logs = path.join(dir, 'logs');
    fs.mkdirSync(logs);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', logs]);
    try {
      writeFiles(dir, { 'm.yaml': manifest(['head -c 1000000 /dev/zero | tr "\\0" x']) });
      await use(dir);
    } finally {
      spawnSync('umount', [logs]);
    }
  }

  it.skipIf(!canMount)('a full log disk: the attempt says which file and ENOSPC', () =>
    withFullLogDisk(async (dir) => {
      // the combined log alone (no per-stream files for shown output)
      const r = await jobrun(
        [
          'run',
          'm.yaml',
          '--logs',
          'logs',
          '--report',
          'r.json',
          '--progress',
          'none',
          '--output',
          'none',
        ],
        { cwd: dir },
      );
      expect(r.code).toBe(1);
      const attempt = report(path.join(dir, 'r.json')).jobs[0]!.attempts[0]!;
      expect(attempt.error).toMatch(/log file .*j1\.log: ENOSPC/);
    }),
  );

  it.skipIf(!canMount)(
    'a full disk at start: the run is refused, naming the lock it could not write, and leaves nothing',
    async () => {
      const dir = tempDir();
      writeFiles(dir, { 'm.yaml': manifest(['true']) });
      const folder = path.dirname(journalOf(dir, 'm.yaml'));
      fs.mkdirSync(folder, { recursive: true });
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', folder]);
      try {
        spawnSync('sh', ['-c', 'head -c 100000 /dev/zero > fill'], { cwd: folder });
        for (let i = 0; i < 2; i++) {
          const r = await jobrun(['run', 'm.yaml', '--progress', 'none'], { cwd: dir });
          expect(r.code).toBe(2);
          expect(r.stderr).toMatch(/cannot write the lock .*\.ndjson\.lock: ENOSPC/);
          expect(r.stderr).not.toMatch(NO_TRACE);
          expect(fs.readdirSync(folder)).toEqual(['fill']);
        }
      } finally {
        spawnSync('umount', [folder]);
      }
    },
  );

  it.skipIf(!canMount)(
    'a full log disk under shown output fails the job that exited 0: its output is not all kept',
    () =>
      withFullLogDisk(async (dir) => {
        // the job writes into pipes, so it never sees the full disk and exits 0
        for (const spawner of ['helper', 'child']) {
          const r = await jobrun(
            ['run', 'm.yaml', '--logs', 'logs', '--report', 'r.json', '--progress', 'none'],
            { cwd: dir, env: { JOBRUN_SPAWNER: spawner } },
          );
          expect(r.code, spawner).toBe(1);
          const [job] = report(path.join(dir, 'r.json')).jobs;
          expect(job!.status, spawner).toBe('failed');
          expect(job!.attempts[0]!.exitCode, spawner).toBe(0);
          expect(job!.attempts[0]!.error, spawner).toMatch(
            /cannot write log file .*j1\.log: ENOSPC/,
          );
        }
      }),
  );

  it('report files are whole or untouched: kill -9 leaves the previous ones as they were', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest([LONG]),
      'r.json': 'OLD',
      'j.xml': 'OLD',
      'r.html': 'OLD',
      'log.tsv': 'OLD',
    });
    const args = [
      'run',
      'm.yaml',
      '--report',
      'r.json',
      '--junit',
      'j.xml',
      '--html',
      'r.html',
      '--joblog',
      'log.tsv',
    ];
    const child = spawnBin([...args, '--progress', 'none'], dir);
    child.stdin!.end();
    const done = collect(child);
    await waitFor(() => readLines(path.join(dir, 'pids')).length >= 1, 10_000, 'job up');
    for (const f of ['r.json', 'j.xml', 'r.html', 'log.tsv'])
      expect(fs.readFileSync(path.join(dir, f), 'utf8'), f).toBe('OLD');
    child.kill('SIGKILL');
    await done;
    for (const f of ['r.json', 'j.xml', 'r.html', 'log.tsv'])
      expect(fs.readFileSync(path.join(dir, f), 'utf8'), f).toBe('OLD');
    // kill the orphan, then a whole run replaces every file and leaves no temporary
    for (const pid of readLines(path.join(dir, 'pids')).map(Number)) process.kill(-pid, 'SIGKILL');
    writeFiles(dir, { 'm.yaml': manifest(['true']) });
    const r = await jobrun([...args, '--progress', 'none'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(report(path.join(dir, 'r.json')).summary.succeeded).toBe(1);
    expect(fs.readFileSync(path.join(dir, 'log.tsv'), 'utf8')).toMatch(/^Seq\t/);
    // only the kill -9'd run's joblog under its temporary name (nothing can clean up after SIGKILL)
    expect(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([
      `.log.tsv.${child.pid}.tmp`,
    ]);
  });

  it('a report that cannot be written keeps the run’s exit code (or 1) and names the file', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest(['true']) });
    const r = await jobrun(['run', 'm.yaml', '--report', '/dev/full', '--progress', 'none'], {
      cwd: dir,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the run ended, but cannot write /dev/full: ENOSPC');
    const missing = await jobrun(['run', 'm.yaml', '--report', 'no/such/dir/r.json'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'no'))).toBe(false);
  });
});

describe('bad values are refused before anything runs (items 11, 12, 16)', () => {
  it('exits 2 with a reason and no trace', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'ok.yaml': manifest(['touch ran']),
      'trailing.json': '{"version": 1, "jobs": [{"name": "a", "run": "touch ran"},]}',
      'quotes.json': "{'version': 1}",
      'bad-places.yaml':
        'version: 1\ndefaults:\n  shell: /no/such/sh\njobs:\n  - { name: a, run: "touch ran", cwd: nope }\n',
      'bad-report.json': '{"version": 1, "jobs": [{"name": 3}]}',
    });
    const cases: [string[], RegExp][] = [
      [['validate', 'trailing.json'], /trailing\.json:1:\d+: not valid JSON/],
      [['validate', 'quotes.json'], /quotes\.json:1:2: not valid JSON/],
      [
        ['run', 'bad-places.yaml'],
        /bad-places\.yaml:3:10: shell \/no\/such\/sh does not exist[\s\S]*:5:\d+: cwd .*nope does not exist/,
      ],
      [['run', 'ok.yaml', '-j', '99999999999999999999999'], /at most 10000 workers/],
      [['run', 'ok.yaml', '--shell', '/nonexistent'], /--shell is for --glob\/--stdin/],
      [
        ['run', '--stdin', '--shell', '/nonexistent', '--', 'true'],
        /shell \/nonexistent does not exist/,
      ],
      [['run', 'ok.yaml', '--logs', ''], /'--logs <dir>' argument '' is invalid\. needs a folder/],
      [['run', '/dev/zero'], /not a regular file/],
      [['retry', 'bad-report.json'], /not a jobrun report: jobs\.0\.name/],
      // in words, as for a manifest: no bare errno code
      [['retry', 'no-report.json'], /^jobrun: report not found: no-report\.json\n$/],
    ];
    for (const [args, message] of cases) {
      const r = await jobrun(args, { cwd: dir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr).not.toMatch(NO_TRACE);
    }
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('a stdin line over 128 KiB is refused at once, in bounded memory', async () => {
    const dir = tempDir();
    const child = spawnBin(
      ['run', '--stdin', '--progress', 'none', '--', 'echo $$ >> pids; : {}'],
      dir,
    );
    child.stdin!.on('error', () => {});
    child.stdin!.write('fine\n');
    const big = Buffer.alloc(1 << 20, 'x');
    const done = collect(child);
    for (let i = 0; i < 64 && child.exitCode === null; i++) {
      if (!child.stdin!.write(big)) await new Promise((res) => setTimeout(res, 10));
    }
    child.stdin!.destroy();
    const r = await done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('stdin line 2 is longer than 128 KiB');
    expect(r.stderr).not.toMatch(NO_TRACE);
    await noOrphans(dir);
  });

  it('package.json points at no file that is not shipped', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      exports?: unknown;
      bin: Record<string, string>;
    };
    expect(pkg.exports).toBeUndefined(); // jobrun is a CLI; no programmatic API ships
    for (const bin of Object.values(pkg.bin))
      expect(fs.existsSync(path.join(ROOT, bin))).toBe(true);
  });
});
