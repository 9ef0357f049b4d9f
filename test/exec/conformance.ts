import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ExecRequest, Executor } from '../../src/exec/types.js';
import type { JobSpec } from '../../src/model/job.js';
import { decodeBytes } from '../../src/model/bytes.js';
import {
  isGone,
  killQuietly,
  makeJob,
  readOrEmpty,
  readPids,
  requestIn,
  script,
  tempDirs,
  waitFor,
} from './helpers.js';

/** What an executor can do beyond the common contract. */
export interface ExecutorTraits {
  /** Arguments, environment and paths reach the job as raw (non-UTF-8) bytes. */
  rawBytes: boolean;
}

/**
 * One suite for every executor (the `node:child_process` one and the spawner), as the
 * backends share theirs: the same requests must give the same results, logs and
 * process-group behaviour whoever starts the process.
 */
export function executorConformance(
  label: string,
  make: () => Executor,
  traits: ExecutorTraits,
): void {
  const dirs = tempDirs();
  const leftovers: number[] = [];
  afterEach(() => killQuietly(leftovers.splice(0)));
  afterAll(() => dirs.cleanup());

  const executor = make();

  const request = (job: JobSpec, extra: Partial<ExecRequest> = {}): ExecRequest =>
    requestIn(dirs.make(), job, extra);

  describe(`${label}: exit codes and logs`, () => {
    it('records exit 0 with the attempt, worker, start time and log', async () => {
      const before = Date.now();
      const req = request(makeJob('echo hello'), { attempt: 2, worker: 'slot-3' });
      const run = executor.start(req);
      await run.started;
      expect(run.pid).toBeGreaterThan(0);
      const result = await run.result;
      expect(result).toMatchObject({ attempt: 2, worker: 'slot-3', exitCode: 0, timedOut: false });
      expect(result.signal).toBeUndefined();
      expect(result.error).toBeUndefined();
      expect(result.outputTail).toBeUndefined();
      expect(result.startedAt).toBeGreaterThanOrEqual(before);
      expect(result.durationMs).toBeGreaterThanOrEqual(0);
      expect(result.logPath).toBe(req.logPath);
      expect(readFileSync(req.logPath, 'utf8')).toBe('hello\n');
    });

    it('records a non-zero exit code and keeps the output tail', async () => {
      const result = await executor.start(request(makeJob('echo oops >&2; exit 3'))).result;
      expect(result.exitCode).toBe(3);
      expect(result.timedOut).toBe(false);
      expect(result.outputTail).toBe('oops');
    });

    it('keeps stdout and stderr interleaved in the log file', async () => {
      const req = request(makeJob(script('interleave.sh')));
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(0);
      expect(readFileSync(req.logPath, 'utf8')).toBe('out1\nerr1\nout2\nerr2\n');
    });

    it('deletes an empty log file and leaves logPath undefined', async () => {
      const req = request(makeJob('true'));
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(0);
      expect(result.logPath).toBeUndefined();
      expect(existsSync(req.logPath)).toBe(false);
    });

    it('runs in job.cwd with job.env over the environment, stdin closed', async () => {
      const req = request(makeJob('pwd; echo "$JR_A-$PATH_SET"; cat; echo end', {}));
      req.job.env = { JR_A: 'a', PATH_SET: process.env.PATH ? 'yes' : 'no' };
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(0);
      const [pwd, env, end] = readFileSync(req.logPath, 'utf8').split('\n');
      expect(statSync(pwd ?? '').ino).toBe(statSync(req.job.cwd).ino);
      expect(env).toBe('a-yes');
      expect(end).toBe('end');
    });

    it('keeps the last 20 lines (at most 4 KiB) of a failing job', async () => {
      const req = request(makeJob(`${script('fail-with-output.sh')} 500 4`));
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(4);
      const tail = result.outputTail ?? '';
      const lines = tail.split('\n');
      expect(lines).toHaveLength(20);
      expect(lines[0]).toBe('line 481');
      expect(lines.at(-1)).toBe('line 500');
      expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(4096);
    });

    it('bounds the tail to 4 KiB when the last lines are long', async () => {
      const req = request(makeJob("head -c 100000 /dev/zero | tr '\\0' y; exit 1"));
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(1);
      expect(result.outputTail).toMatch(/^y+$/);
      expect(Buffer.byteLength(result.outputTail ?? '')).toBeLessThanOrEqual(4096);
      expect(Buffer.byteLength(result.outputTail ?? '')).toBeGreaterThan(4000);
    });

    it('decodes invalid UTF-8 in the tail without throwing', async () => {
      const result = await executor.start(request(makeJob(script('invalid-utf8.sh')))).result;
      expect(result.exitCode).toBe(1);
      expect(result.outputTail).toContain('before');
      expect(result.outputTail).toContain('\uFFFD');
      expect(result.outputTail?.endsWith('after')).toBe(true);
    });
  });

  describe(`${label}: start failures`, () => {
    it('reports a missing working directory without throwing', async () => {
      const req = request(makeJob('echo hi'));
      req.job.cwd = join(req.job.cwd, 'no', 'such', 'dir');
      const run = executor.start(req);
      const result = await run.result;
      expect(result.error).toBe(`working directory ${req.job.cwd} does not exist`);
      expect(result.exitCode).toBeUndefined();
      expect(result.logPath).toBeUndefined();
      expect(existsSync(req.logPath)).toBe(false);
      run.stop(true); // harmless once over
    });

    it('reports a working directory that is a file', async () => {
      const req = request(makeJob('echo hi'));
      req.job.cwd = script('interleave.sh');
      const result = await executor.start(req).result;
      expect(result.error).toBe(`working directory ${req.job.cwd} is not a directory`);
    });

    it('reports a missing shell without throwing, in both output modes', async () => {
      for (const onLine of [undefined, () => {}]) {
        const req = request(makeJob('echo hi', { shell: '/no/such/shell' }), { onLine });
        const run = executor.start(req);
        expect(run.pid).toBeUndefined();
        const result = await run.result;
        expect(result.error).toBe('shell /no/such/shell not found');
        expect(result.exitCode).toBe(127); // as a shell says of a command it cannot find
        expect(result.timedOut).toBe(false);
        expect(existsSync(req.logPath)).toBe(false);
      }
    });

    it('reports a log file that cannot be opened, naming the file and the errno', async () => {
      const req = request(makeJob('echo hi'));
      writeFileSync(join(req.job.cwd, 'not-a-dir'), '');
      req.logPath = join(req.job.cwd, 'not-a-dir', 'job.log');
      const result = await executor.start(req).result;
      expect(result.error).toMatch(/^cannot open log file .*not-a-dir\/job\.log: .*ENOTDIR/);
      expect(result.exitCode).toBeUndefined();
    });

    it('makes the log folder again when it was deleted while the run goes', async () => {
      const req = request(makeJob('echo hi'));
      req.logPath = join(req.job.cwd, 'deleted-dir', 'job.log');
      const result = await executor.start(req).result;
      expect(result.error).toBeUndefined();
      expect(result.exitCode).toBe(0);
      expect(readFileSync(req.logPath, 'utf8')).toBe('hi\n');
    });
  });

  describe(`${label}: timeouts, stop and the process group`, () => {
    it('kills the whole process tree on timeout', async () => {
      const req = request(makeJob(''), { timeoutMs: 300 });
      const pidFile = join(req.job.cwd, 'pids');
      req.job.command = `${script('spawn-tree.sh')} ${pidFile}`;
      const result = await executor.start(req).result;
      const pids = readPids(pidFile);
      leftovers.push(...pids);
      expect(result.timedOut).toBe(true);
      expect(['SIGTERM', 'SIGKILL']).toContain(result.signal);
      expect(result.exitCode).toBeUndefined();
      expect(result.outputTail).toBe('ready');
      expect(pids).toHaveLength(3);
      expect(await waitFor(() => pids.every(isGone))).toBe(true);
    });

    // `exec` makes the TERM-ignoring script the group leader; without it the `sh -c`
    // leader would die of SIGTERM and the script would be SIGKILLed as a leftover.
    it('SIGKILLs a job that ignores SIGTERM once the kill grace is over', async () => {
      const req = request(makeJob(`exec ${script('ignore-term.sh')}`, { killGraceMs: 200 }));
      const run = executor.start(req);
      expect(await waitFor(() => readOrEmpty(req.logPath).includes('ready'))).toBe(true);
      const stoppedAt = performance.now();
      run.stop();
      const result = await run.result;
      expect(result.signal).toBe('SIGKILL');
      expect(result.timedOut).toBe(false);
      expect(performance.now() - stoppedAt).toBeGreaterThanOrEqual(150);
    });

    it('times out a job that ignores SIGTERM and SIGKILLs it after the grace', async () => {
      const req = request(makeJob(`trap '' TERM; ${script('ignore-term.sh')}`), {
        timeoutMs: 100,
      });
      const result = await executor.start(req).result;
      expect(result.timedOut).toBe(true);
      expect(result.signal).toBe('SIGKILL');
    });

    it('kills a background child left by a job that exits 0', async () => {
      const req = request(makeJob(''));
      const pidFile = join(req.job.cwd, 'pid');
      req.job.command = `${script('background-child.sh')} ${pidFile}`;
      const result = await executor.start(req).result;
      const pids = readPids(pidFile);
      leftovers.push(...pids);
      expect(result.exitCode).toBe(0);
      expect(pids).toHaveLength(1);
      expect(await waitFor(() => pids.every(isGone))).toBe(true);
    });

    it('stop() sends SIGTERM to the group and does not count as a timeout', async () => {
      const req = request(makeJob('sleep 30'), { timeoutMs: 60_000 });
      const run = executor.start(req);
      run.stop();
      run.stop(); // idempotent
      const result = await run.result;
      expect(result.signal).toBe('SIGTERM');
      expect(result.timedOut).toBe(false);
      expect(result.exitCode).toBeUndefined();
    });

    it('stop(true) SIGKILLs at once, without waiting for the grace', async () => {
      const req = request(makeJob(`exec ${script('ignore-term.sh')}`, { killGraceMs: 60_000 }));
      const run = executor.start(req);
      expect(await waitFor(() => readOrEmpty(req.logPath).includes('ready'))).toBe(true);
      run.stop(true);
      const result = await run.result;
      expect(result.signal).toBe('SIGKILL');
    });

    it('stop(true) escalates an earlier graceful stop', async () => {
      const req = request(makeJob(`exec ${script('ignore-term.sh')}`, { killGraceMs: 60_000 }));
      const run = executor.start(req);
      expect(await waitFor(() => readOrEmpty(req.logPath).includes('ready'))).toBe(true);
      run.stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      run.stop(true);
      const result = await run.result;
      expect(result.signal).toBe('SIGKILL');
      expect(result.durationMs).toBeLessThan(30_000);
    });

    it('clears its timers when the attempt ends', async () => {
      const timers = (): number =>
        process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
      const before = timers();
      const dir = dirs.make();
      const job = makeJob('while [ ! -e go ]; do sleep 0.02; done', { killGraceMs: 60_000 });
      const run = executor.start(requestIn(dir, job, { timeoutMs: 60_000 }));
      await run.started;
      expect(timers()).toBe(before + 1);
      writeFileSync(join(dir, 'go'), '');
      expect((await run.result).exitCode).toBe(0);
      expect(timers()).toBeLessThanOrEqual(before);
    });

    it('honours timeouts longer than the 24.8-day timer limit', async () => {
      const req = request(makeJob('exit 0'), { timeoutMs: 40 * 24 * 3600 * 1000 });
      const result = await executor.start(req).result;
      expect(result.timedOut).toBe(false);
      expect(result.exitCode).toBe(0);
    });
  });

  describe(`${label}: what the job finds`, () => {
    it('reports the signal that killed the job, with no exit code', async () => {
      const result = await executor.start(request(makeJob('kill -USR1 $$'))).result;
      expect(result.signal).toBe('SIGUSR1');
      expect(result.exitCode).toBeUndefined();
      expect(result.timedOut).toBe(false);
    });

    it('gives the job stdin from /dev/null and its own session', async () => {
      const req = request(makeJob('[ -c /dev/stdin ] && echo null-stdin; ps -o sid= -p $$'));
      const run = executor.start(req);
      const result = await run.result;
      expect(result.exitCode).toBe(0);
      const [stdin, sid] = readFileSync(req.logPath, 'utf8').trim().split('\n');
      expect(stdin).toBe('null-stdin');
      expect(Number(sid)).toBe(run.pid);
    });

    // SIGPIPE left ignored would make `yes` fail with "Broken pipe" instead of dying quietly
    it('restores default signal dispositions and an empty signal mask', async () => {
      const req = request(
        makeJob(
          'yes | head -n 1; if [ -r /proc/self/status ]; then ' +
            "grep -E '^Sig(Ign|Blk)' /proc/self/status; fi",
        ),
      );
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(0);
      const log = readFileSync(req.logPath, 'utf8');
      expect(log).not.toMatch(/broken pipe/i);
      // glibc's posix_spawn leaves its two internal signals (32, 33) ignored; glibc
      // programs install their own handlers for them at start
      const internal = (1n << 31n) | (1n << 32n);
      for (const [, mask] of log.matchAll(/^Sig(?:Ign|Blk):\s*([0-9a-f]+)$/gm))
        expect(BigInt(`0x${mask}`) & ~internal).toBe(0n);
    });

    it('writes large output straight to the log file', async () => {
      const req = request(makeJob('head -c 20000000 /dev/zero; echo; exit 1'));
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(1);
      expect(statSync(req.logPath).size).toBe(20_000_001);
      expect(result.outputTail).toMatch(/^\0+$/);
    });

    it('finds a shell given by name on PATH', async () => {
      const result = await executor.start(request(makeJob('exit 7', { shell: 'sh' }))).result;
      expect(result.exitCode).toBe(7);
    });

    it('passes raw bytes in the command exactly', async () => {
      const bytes = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0xe9]);
      const req = request(makeJob(`printf '%s|' '${decodeBytes(bytes)}'`));
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(0);
      expect(readFileSync(req.logPath)).toEqual(Buffer.concat([bytes, Buffer.from('|')]));
    });

    // Node hands environment strings to the OS as UTF-8: only a spawner carries raw bytes there.
    if (traits.rawBytes) {
      it('passes raw bytes in the environment exactly', async () => {
        const bytes = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0xe9]);
        const req = request(makeJob(`printf '%s|' "$RAW"`));
        req.job.env = { RAW: decodeBytes(bytes) };
        const result = await executor.start(req).result;
        expect(result.exitCode).toBe(0);
        expect(readFileSync(req.logPath)).toEqual(Buffer.concat([bytes, Buffer.from('|')]));
      });
    }

    it('runs attempts side by side, each in its own group', async () => {
      const reqs = [1, 2, 3].map(() => request(makeJob('sleep 0.2; echo $$')));
      const runs = reqs.map((r) => executor.start(r));
      const results = await Promise.all(runs.map((r) => r.result));
      expect(results.map((r) => r.exitCode)).toEqual([0, 0, 0]);
      const pids = reqs.map((r) => Number(readFileSync(r.logPath, 'utf8')));
      expect(new Set(pids).size).toBe(3);
      expect(pids).toEqual(runs.map((r) => r.pid));
    });
  });

  describe(`${label}: process facts`, () => {
    // Node names signal 6 SIGABRT; Python's first name for it is SIGIOT
    it('names a death by signal the way both executors do (SIGABRT, not SIGIOT)', async () => {
      const result = await executor.start(request(makeJob('kill -ABRT $$'))).result;
      expect(result.signal).toBe('SIGABRT');
    });

    it("knows the leader's start time, also of a job that ended at once", async () => {
      const req = request(makeJob('cut -d" " -f22 /proc/$$/stat'));
      const run = executor.start(req);
      await run.result;
      expect(run.startTicks).toBe(Number(readFileSync(req.logPath, 'utf8')));
      const quick = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const r = executor.start(request(makeJob('exit 0')));
          await r.result;
          return r.startTicks;
        }),
      );
      expect(quick.every((t) => typeof t === 'number' && t > 0)).toBe(true);
    });

    it('hands the job no descriptor but stdin, stdout and stderr', async () => {
      // the shell's own: 0-2, and any it opened for itself (above 9)
      const req = request(makeJob('ls /proc/$$/fd'));
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(0);
      const fds = readFileSync(req.logPath, 'utf8').trim().split('\n').map(Number);
      expect(fds.slice(0, 3)).toEqual([0, 1, 2]);
      expect(fds.filter((fd) => fd > 2 && fd < 10)).toEqual([]);
    });

    it("hands the job exactly jobrun's environment with job.env over it", async () => {
      const req = request(makeJob('env'));
      req.job.env = { JR_EXTRA: 'x y', HOME: '/elsewhere' };
      const result = await executor.start(req).result;
      expect(result.exitCode).toBe(0);
      const expected = spawnSync('/bin/sh', ['-c', 'env'], {
        cwd: req.job.cwd,
        env: { ...process.env, ...req.job.env },
      }).stdout.toString('latin1');
      const lines = (text: string) =>
        text
          .split('\n')
          .filter((l) => l !== '' && !l.startsWith('JOBRUN_'))
          .sort();
      expect(lines(readFileSync(req.logPath, 'latin1'))).toEqual(lines(expected));
    });

    it('fails an attempt whose item holds a NUL byte, naming the item, and starts the next job', async () => {
      const job = makeJob("echo 'a\0b'", { name: 'a\0b' });
      const result = await executor.start(request(job)).result;
      expect(result.error).toBe(
        'item "a\\0b" holds a NUL byte (\\0), which no command, argument or variable can carry',
      );
      expect(result.exitCode).toBeUndefined();
      const env = makeJob('true', { env: { X: 'a\0' } });
      expect((await executor.start(request(env)).result).error).toMatch(/^env: X holds a NUL byte/);
      const next = await executor.start(request(makeJob('exit 5'))).result;
      expect(next.exitCode).toBe(5);
    });
  });

  describe(`${label}: a stop that comes after the job ended`, () => {
    /**
     * Blocks this thread until the job's leader has exited: while it is blocked, the
     * executor cannot hear of the end, so the stop that follows comes "too late".
     */
    function blockUntilExited(pid: number): void {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const state = readOrEmpty(`/proc/${pid}/stat`).split(') ')[1]?.[0];
        if (state === undefined || state === 'Z' || Date.now() > deadline) return;
        spawnSync('sleep', ['0.01']);
      }
    }

    it('keeps the exit 0 of a job that ended before the stop reached it', async () => {
      for (const timeoutMs of [undefined, 1]) {
        const run = executor.start(request(makeJob('exit 0'), { timeoutMs }));
        await run.started;
        blockUntilExited(run.pid ?? 0);
        run.stop();
        const result = await run.result;
        expect(result.exitCode).toBe(0);
        expect(result.stopped).toBeUndefined();
        expect(result.timedOut).toBe(false);
      }
    });

    it('marks a job the stop reached as stopped, even when it then exits 0', async () => {
      const req = request(makeJob("trap 'exit 0' TERM; echo ready; while :; do sleep 0.05; done"));
      const run = executor.start(req);
      expect(await waitFor(() => readOrEmpty(req.logPath).includes('ready'))).toBe(true);
      run.stop();
      const result = await run.result;
      expect(result.exitCode).toBe(0);
      expect(result.stopped).toBe(true);
    });
  });

  /**
   * The shell (group leader) dies of SIGTERM at once, but its child traps TERM and needs
   * a moment to clean up: it must get the kill grace, not an instant SIGKILL.
   */
  const CHILD_CLEANS_UP =
    `sh -c 'trap "sleep 0.3; echo cleaned > done; exit 0" TERM; echo ready > ready; ` +
    `while :; do sleep 0.05; done' & wait`;

  /** Starts `command` in a temp dir and resolves once it wrote the file "ready". */
  async function startReady(command: string, killGraceMs: number) {
    const dir = dirs.make();
    const attempt = executor.start(requestIn(dir, makeJob(command, { killGraceMs })));
    expect(await waitFor(() => existsSync(join(dir, 'ready')))).toBe(true);
    return { dir, attempt };
  }

  describe(`${label}: kill grace for the rest of the group`, () => {
    it('lets a child that traps TERM finish its cleanup after the shell died', async () => {
      const { dir, attempt } = await startReady(CHILD_CLEANS_UP, 5000);
      attempt.stop();
      const result = await attempt.result;
      expect(readFileSync(join(dir, 'done'), 'utf8')).toBe('cleaned\n');
      expect(result.durationMs).toBeLessThan(5000);
    });

    it('still SIGKILLs the leftovers when the grace runs out, and stop(true) cuts it short', async () => {
      const stubborn = `sh -c 'trap "" TERM; echo ready > ready; while :; do sleep 0.05; done' & wait`;
      const { attempt } = await startReady(stubborn, 60_000);
      attempt.stop();
      await new Promise((r) => setTimeout(r, 200));
      attempt.stop(true);
      const result = await attempt.result;
      expect(result.durationMs).toBeLessThan(30_000);
    });
  });
}
