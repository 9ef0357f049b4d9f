import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, BIN, jobrun, tempDir, waitFor } from './helpers.js';
import { Batch, byName } from './operate-helpers.js';

/**
 * Runs `$JOBRUN …` piped into something (`| head -1`) through bash against `b`'s runs;
 * `status` is jobrun's own exit status (PIPESTATUS), `seen` what came out of the pipe.
 * Bounded: rejects after `ms`.
 */
function piped(
  b: Batch,
  script: string,
  ms = 20_000,
): { done: Promise<{ status: string }>; seen: () => string } {
  let out = '';
  const child = spawn('bash', ['-c', `${script}; echo "status=\${PIPESTATUS[0]}"`], {
    cwd: b.dir,
    env: {
      ...process.env,
      CI: 'true',
      NO_COLOR: '1',
      XDG_RUNTIME_DIR: b.xdg,
      JOBRUN: `${process.execPath} ${BIN}`,
    },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const done = new Promise<{ status: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${script} did not end in ${ms} ms; printed: ${out}`));
    }, ms);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ status: /status=(\d+)/.exec(out)?.[1] ?? '?' });
    });
  });
  return { done, seen: () => out };
}

/** Each job of `b` prints `hello from NAME` as it starts, before it waits for the test. */
function sayHello(b: Batch): void {
  const gate = path.join(b.dir, 'gate.sh');
  fs.writeFileSync(gate, fs.readFileSync(gate, 'utf8').replace('i=0', 'echo "hello from $1"\ni=0'));
}

describe('stopping a running batch gently', () => {
  it('drain lets running jobs succeed, cancels the rest as "drained" and writes the report', async () => {
    const b = new Batch();
    try {
      const done = b.start(['-j', '2', '--report', 'r.json'], ['a', 'b', 'c', 'd', 'e']);
      await b.started('a', 'b');
      expect((await b.ctl(['drain'])).code).toBe(0);
      b.release();
      const r = await done;
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/drained: starting nothing more, waiting for 2 running jobs/);
      const jobs = byName(b.report());
      expect(jobs.a).toMatchObject({ status: 'succeeded' });
      expect(jobs.b).toMatchObject({ status: 'succeeded' });
      for (const name of ['c', 'd', 'e'])
        expect(jobs[name]).toMatchObject({ status: 'cancelled', reason: 'drained', attempts: [] });
      expect(b.count('start')).toBe(2);
    } finally {
      await b.finish();
    }
  });

  it("retry of a drained run's report says the jobs left were cancelled, not that all succeeded", async () => {
    const b = new Batch();
    try {
      const done = b.start(['-j', '1', '--report', 'r.json'], ['a', 'b', 'c']);
      await b.started('a');
      expect((await b.ctl(['drain'])).code).toBe(0);
      b.release();
      expect((await done).code).toBe(0);
      const retry = await b.ctl(['retry', 'r.json']);
      expect(retry.code).toBe(0); // nothing to do, as an empty input is
      // the report says the command that resumes its run
      expect(retry.stderr).toBe(
        'jobrun: nothing to retry: no job failed; 2 jobs in r.json were cancelled ("b", "c"), and a ' +
          'retry does not run cancelled jobs again; to run them: jobrun run --progress plain -j 1 ' +
          "--report r.json --resume -- 'sh gate.sh {}' ::: a b c\n",
      );
      expect(b.count('start')).toBe(1);
    } finally {
      await b.finish();
    }
  });

  it('retry of a drained run names the cancelled jobs it leaves out, and how to run them', async () => {
    const b = new Batch();
    try {
      const done = b.start(['-j', '1', '--report', 'r.json'], ['bad', 'b', 'c']);
      await b.started('bad');
      expect((await b.ctl(['drain'])).code).toBe(0);
      b.release();
      expect((await done).code).toBe(1);
      const retry = await b.ctl(['retry', 'r.json', '--progress', 'none', '--report', 'r2.json']);
      expect(retry.code).toBe(1); // bad ran again, and failed again
      expect(retry.stderr).toContain(
        'jobrun: 2 jobs in r.json were cancelled ("b", "c"), and a retry does not run ' +
          'cancelled jobs again; to run them: jobrun run --progress plain -j 1 --report r.json ' +
          "--resume -- 'sh gate.sh {}' ::: bad b c\n",
      );
      expect(b.report('r2.json').jobs.map((j) => j.name)).toEqual(['bad']);
    } finally {
      await b.finish();
    }
  });

  it("retry of a drained retry's report names the retry's own --resume, which runs only what it left", async () => {
    const b = new Batch();
    try {
      // a run's report with three failures, for the retry to run again
      const failed = (name: string) => ({
        name,
        command: `sh gate.sh ${name}`,
        status: 'failed',
        cwd: b.dir,
      });
      const report = { version: 1, manifest: null, jobs: ['x1', 'x2', 'x3'].map(failed) };
      fs.writeFileSync(path.join(b.dir, 'r.json'), JSON.stringify(report));
      const retryArgs = ['retry', 'r.json', '-j', '1', '--progress', 'none', '--report', 'r2.json'];
      const first = b.ctl(retryArgs);
      await b.started('x1');
      expect((await b.ctl(['drain'])).code).toBe(0);
      b.release();
      expect((await first).code).toBe(0);
      expect(b.report('r2.json').jobs.map((j) => [j.name, j.status])).toEqual([
        ['x1', 'succeeded'],
        ['x2', 'cancelled'],
        ['x3', 'cancelled'],
      ]);
      // the run's --resume would run x1 again (the retry's journal is its own)
      const again = await b.ctl(['retry', 'r2.json']);
      const resume = 'jobrun retry r.json -j 1 --progress none --report r2.json --resume';
      expect(again.stderr).toContain(`to run them: ${resume}\n`);
      const resumed = await b.ctl(resume.split(' ').slice(1));
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(b.events().filter((e) => e.startsWith('start '))).toEqual([
        'start x1',
        'start x2',
        'start x3',
      ]);
      expect(b.report('r2.json').jobs.map((j) => [j.name, j.status])).toEqual([
        ['x1', 'succeeded'],
        ['x2', 'succeeded'],
        ['x3', 'succeeded'],
      ]);
    } finally {
      await b.finish();
    }
  });

  it('--graceful: the first SIGTERM starts nothing more and lets running jobs finish', async () => {
    const b = new Batch();
    try {
      let stderr = '';
      const done = b.start(['-j', '2', '--graceful', '60s', '--report', 'r.json'], ['a', 'b', 'c']);
      await b.started('a', 'b');
      b.child?.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      b.child?.kill('SIGTERM');
      await waitFor(() => stderr.includes('stopping:'), 30_000, 'the stopping line');
      expect(stderr).toMatch(
        /stopping: waiting for 2 running jobs \(up to 1m00s\), Ctrl-C again to stop them now/,
      );
      b.release();
      const r = await done;
      expect(r.code === 143 || r.signal === 'SIGTERM').toBe(true);
      const jobs = byName(b.report());
      expect(jobs.a).toMatchObject({ status: 'succeeded' });
      expect(jobs.b).toMatchObject({ status: 'succeeded' });
      expect(jobs.c).toMatchObject({ status: 'cancelled', reason: 'interrupted by SIGTERM' });
      expect(b.count('start')).toBe(2);
    } finally {
      await b.finish();
    }
  });

  it('--graceful: a second signal stops the running jobs at once', async () => {
    const b = new Batch();
    try {
      let stderr = '';
      const done = b.start(['-j', '1', '--graceful', '60s', '--report', 'r.json'], ['a', 'b']);
      await b.started('a');
      b.child?.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      b.child?.kill('SIGINT');
      await waitFor(() => stderr.includes('stopping:'), 30_000, 'the stopping line');
      b.child?.kill('SIGINT');
      const r = await done;
      expect(r.code === 130 || r.signal === 'SIGINT').toBe(true);
      expect(byName(b.report()).a).toMatchObject({ status: 'cancelled' });
      expect(b.events()).not.toContain('end a'); // stopped, not finished
    } finally {
      await b.finish();
    }
  });

  it('--graceful: running jobs still running when the grace runs out are stopped', async () => {
    const b = new Batch();
    try {
      const done = b.start(['-j', '1', '--graceful', '1s', '--report', 'r.json'], ['a', 'b']);
      await b.started('a');
      b.child?.kill('SIGTERM');
      const r = await done;
      expect(r.code === 143 || r.signal === 'SIGTERM').toBe(true);
      expect(byName(b.report()).a).toMatchObject({ status: 'cancelled' });
      expect(b.events()).not.toContain('end a');
    } finally {
      await b.finish();
    }
  });

  it('Ctrl-C after the final line, while a report is still being written, says nothing; twice ends jobrun', async () => {
    const dir = tempDir('jobrun-stop-');
    // a --junit FIFO nobody reads holds jobrun after its final line
    execFileSync('mkfifo', [path.join(dir, 'junit.fifo')]);
    let child: ChildProcess | undefined;
    const done = jobrun(
      ['run', '--progress', 'plain', '--junit', 'junit.fifo', '--', 'echo', ':::', 'a', 'b'],
      { cwd: dir, onSpawn: (c) => (child = c) },
    );
    let stderr = '';
    await waitFor(() => child, 10_000, 'jobrun to start');
    child!.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor(() => stderr.includes('2 jobs: 2 succeeded'), 20_000, 'the final line');
      // one signal at a time (two sent at once may arrive as one), until jobrun ends
      for (let i = 0; i < 20 && child!.exitCode === null && child!.signalCode === null; i++) {
        child!.kill('SIGINT');
        await sleep(250);
      }
      const r = await Promise.race([done, sleep(5000).then(() => undefined)]);
      expect(r?.signal).toBe('SIGINT');
      expect(stderr.trimEnd().split('\n').at(-1)).toMatch(/^2 jobs: 2 succeeded in /);
    } finally {
      child!.kill('SIGKILL');
      await done.catch(() => undefined);
    }
  });

  it('Ctrl-C twice at once after the jobs ended still leaves the report, if the files come within a moment', async () => {
    const dir = tempDir('jobrun-stop-');
    // the --junit FIFO holds jobrun after its final line, until the test reads it
    const fifo = path.join(dir, 'junit.fifo');
    execFileSync('mkfifo', [fifo]);
    let child: ChildProcess | undefined;
    const done = jobrun(
      [
        'run',
        '--progress',
        'plain',
        '--report',
        'r.json',
        '--junit',
        'junit.fifo',
        '--',
        'sh',
        '-c',
        'exit {}',
        ':::',
        '0',
        '3',
      ],
      { cwd: dir, onSpawn: (c) => (child = c) },
    );
    let stderr = '';
    await waitFor(() => child, 10_000, 'jobrun to start');
    child!.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await waitFor(
        () => stderr.includes('2 jobs: 1 succeeded, 1 failed'),
        20_000,
        'the final line',
      );
      // the second of two signals hurries the files; they come before the moment is up
      child!.kill('SIGINT');
      await sleep(100);
      child!.kill('SIGINT');
      await sleep(200);
      expect(child!.exitCode ?? child!.signalCode).toBeNull(); // still writing, not killed
      const junit = execFileSync('cat', [fifo], { encoding: 'utf8', timeout: 5000 }); // the reader comes
      expect(junit).toContain('<testsuite');
      const r = await done;
      expect(r.code).toBe(1); // as the run ended, not 130: the signals came after its jobs
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8'))).toMatchObject({
        exitCode: 1,
        summary: { total: 2, succeeded: 1, failed: 1 },
      });
    } finally {
      child!.kill('SIGKILL');
      await done.catch(() => undefined);
    }
  });

  it('a control command against a run that does not answer fails within its time, never hangs, and is not carried out later', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1', '--report', 'r.json'], ['a', 'b']);
      await b.started('a');
      await waitFor(() => b.runFiles().length === 2, 10_000, 'the socket');
      expect((await b.ctl(['ps'])).code).toBe(0); // the run has read a request before
      process.kill(b.child?.pid ?? 0, 'SIGSTOP');
      try {
        const r = await b.ctl(['cancel', 'b']);
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(/did not answer within 5s/);
      } finally {
        process.kill(b.child?.pid ?? 0, 'SIGCONT');
      }
      b.release();
      expect((await b.result)?.code).toBe(0);
      // the cancel it was told had failed was not carried out once the run went on
      expect(byName(b.report()).b).toMatchObject({ status: 'succeeded' });
      const late = await b.ctl(['drain', String(b.child?.pid)]);
      expect(late.code).toBe(2);
      expect(late.stderr).toMatch(/no live run is/);
    } finally {
      await b.finish();
    }
  });

  it('a stale entry after kill -9 is recognised and removed', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1'], ['a']);
      await b.started('a');
      expect(b.runFiles()).toHaveLength(2); // entry and socket
      const pid = b.child?.pid ?? 0;
      process.kill(pid, 'SIGKILL');
      await b.result;
      const ps = await b.ctl(['ps', '--json']);
      expect(JSON.parse(ps.stdout)).toEqual([]);
      expect(b.runFiles()).toEqual([]);
      const gone = await b.ctl(['pause']);
      expect(gone.code).toBe(2);
      expect(gone.stderr).toMatch(/no jobrun run is live/);
    } finally {
      await b.finish(); // the orphaned job ends once released
    }
  });

  it('RUN is an id, a unique prefix or a pid; with two runs live it must be given', async () => {
    const one = new Batch();
    const two = new Batch();
    const xdg = one.xdg;
    try {
      void one.start(['-j', '1'], ['a', 'b']);
      // the second run registers in the first one's runtime folder
      Object.defineProperty(two, 'xdg', { value: xdg });
      void two.start(['-j', '1'], ['x', 'y']);
      await one.started('a');
      await two.started('x');
      const bare = await one.ctl(['pause']);
      expect(bare.code).toBe(2);
      expect(bare.stderr).toMatch(/2 runs are live; name one/);
      const rows = JSON.parse((await one.ctl(['ps', '--json'])).stdout) as Array<{
        runId: string;
        pid: number;
      }>;
      expect(rows).toHaveLength(2);
      const second = rows.find((r) => r.pid === two.child?.pid);
      expect(second).toBeDefined();
      expect((await one.ctl(['pause', String(one.child?.pid)])).code).toBe(0);
      const prefix = second!.runId.slice(0, -1);
      const cancel = await one.ctl(['cancel', prefix, 'y']);
      expect(cancel.code).toBe(0);
      expect(cancel.stderr).toMatch(/cancelled: y/);
      const after = JSON.parse((await one.ctl(['ps', '--json'])).stdout) as Array<
        Record<string, unknown>
      >;
      expect(after.find((r) => r.pid === one.child?.pid)).toMatchObject({ paused: true });
      expect(after.find((r) => r.pid === two.child?.pid)).toMatchObject({
        paused: false,
        queued: 0,
      });
      const none = await one.ctl(['drain', 'no-such-run']);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(/no live run is "no-such-run"; live runs:/);
    } finally {
      await one.ctl(['unpause', String(one.child?.pid)]);
      await Promise.all([one.finish(), two.finish()]);
    }
  });

  it('a reader gone (watch --json | head -1, logs -f | head -1) ends the follower with 141; the run goes on', async () => {
    const b = new Batch();
    try {
      const gate = path.join(b.dir, 'gate.sh');
      // each job prints a line every 50 ms while it waits: logs -f always has more to write
      fs.writeFileSync(
        gate,
        fs.readFileSync(gate, 'utf8').replace('do sleep 0.05;', 'do echo "tick $i"; sleep 0.05;'),
      );
      void b.start(['-j', '1'], ['a', 'b']);
      await b.started('a');
      // once head has gone, the next copy meets EPIPE: 141, not an internal error (70)
      const logs = await piped(b, '$JOBRUN logs a -f | head -1').done;
      expect(logs.status).toBe('141');
      // the watcher writes only when the run says something: a job ending
      const watch = piped(b, '$JOBRUN watch --json | head -1');
      await waitFor(() => watch.seen().includes('run_start'), 30_000, 'watch to print');
      b.release('a');
      // at once, not when the run ends saying it "went away (killed?)" with exit 1
      expect((await watch.done).status).toBe('141');
      expect(alive(b.child?.pid ?? 0)).toBe(true);
      expect(b.events()).not.toContain('end b');
    } finally {
      await b.finish();
    }
  });

  it('a full disk under watch or logs is exit 1, not the 0 of a run that succeeded', async () => {
    const b = new Batch();
    try {
      sayHello(b);
      const done = b.start(['-j', '1'], ['a']);
      await b.started('a');
      const logs = await piped(b, '$JOBRUN logs a -f > /dev/full').done;
      expect(logs.status).toBe('1');
      // its progress lines still reach stderr: they say when it watches
      const watch = piped(b, '$JOBRUN watch --json > /dev/full 2> watch.err');
      const err = path.join(b.dir, 'watch.err');
      await waitFor(
        () => fs.existsSync(err) && fs.readFileSync(err, 'utf8').includes('1 job'),
        30_000,
        'watch to start',
      );
      b.release();
      expect((await done).code).toBe(0);
      expect((await watch.done).status).toBe('1');
    } finally {
      await b.finish();
    }
  });

  it('watch whose output fails (a full disk) stops at once with exit 1 and says why; the run goes on', async () => {
    const b = new Batch();
    try {
      const done = b.start(['-j', '1'], ['a']);
      await b.started('a');
      // job a waits for the test: the run says nothing more until it is released
      const watch = await piped(b, '$JOBRUN watch --json > /dev/full 2> watch.err').done;
      expect(watch.status).toBe('1');
      expect(fs.readFileSync(path.join(b.dir, 'watch.err'), 'utf8')).toMatch(
        /jobrun: stopped watching run \S+ \(it goes on\): cannot write jobrun's stdout: ENOSPC/,
      );
      expect(alive(b.child?.pid ?? 0)).toBe(true);
      expect(b.events()).not.toContain('end a');
      b.release();
      expect((await done).code).toBe(0);
    } finally {
      await b.finish();
    }
  });

  it('logs -f of a run killed with -9 prints what the job wrote, then exit 1 saying the run went away', async () => {
    const b = new Batch();
    try {
      sayHello(b);
      const done = b.start(['-j', '1'], ['a']);
      await b.started('a');
      const follow = b.follow(['logs', 'a', '-f']);
      await waitFor(() => follow.seen().includes('hello from a'), 30_000, 'logs -f to print');
      process.kill(b.child?.pid ?? 0, 'SIGKILL');
      await done.catch(() => undefined);
      const f = await follow.result;
      expect(f.stdout).toBe('hello from a\n');
      expect(f.stderr).toMatch(/went away while a ran \(killed\?\): its output may stop short/);
      expect(f.code).toBe(1); // not the 0 of a job that ended
    } finally {
      await b.finish();
    }
  });

  it('logs prints a job’s output so far and follows it with -f until it ends', async () => {
    const b = new Batch();
    try {
      fs.writeFileSync(
        path.join(b.dir, 'gate.sh'),
        fs
          .readFileSync(path.join(b.dir, 'gate.sh'), 'utf8')
          .replace('i=0', 'echo "hello from $1"\ni=0')
          .replace('exit 0', 'echo "bye from $1"\nexit 0'),
      );
      void b.start(['-j', '1'], ['a']);
      await b.started('a');
      let printed = '';
      for (let tries = 0; tries < 100 && !printed.includes('hello from a'); tries++) {
        const r = await b.ctl(['logs', 'a']);
        expect(r.code).toBe(0);
        printed = r.stdout;
      }
      expect(printed).toBe('hello from a\n');
      const follow = b.follow(['logs', 'a', '-f']);
      await waitFor(() => follow.seen().includes('hello from a'), 30_000, 'logs -f to print');
      b.release();
      const f = await follow.result;
      expect(f.code).toBe(0);
      expect(f.stdout).toBe('hello from a\nbye from a\n');
      expect(alive(b.child?.pid ?? 0) || (await b.result)?.code === 0).toBe(true);
    } finally {
      await b.finish();
    }
  });
});
