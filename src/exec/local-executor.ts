import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AttemptResult } from '../model/attempt.js';
import type { JobSpec } from '../model/job.js';
import { groupAlive, killGroup, trackGroup, untrackGroup } from './kill.js';
import { procStat } from './proc.js';

/** How often a terminated job's process group is checked for leftovers during its grace. */
const GROUP_POLL_MS = 25;
import { PipeOutput } from './pipe-output.js';
import { describeSpawnError } from './spawn-error.js';
import { readTail } from './tail.js';
import { startTimer, type CancelTimer } from './timer.js';
import type { ExecRequest, Executor, RunningAttempt } from './types.js';

/**
 * The executor that runs jobs as child processes of this one.
 *
 * - Each attempt is `job.shell -c job.command`, leading its own process group
 *   (`detached`), in `job.cwd`, with `job.env` over this process's environment
 *   and stdin closed.
 * - Without `onLine` the log file's descriptor is the child's stdout and stderr:
 *   the runner never sees the bytes, so memory stays flat whatever the output,
 *   and stdout/stderr interleave in the file exactly as written. With `onLine`
 *   output is piped, copied to the log and split into lines.
 * - A timeout or `stop()` sends SIGTERM to the group, then SIGKILL after
 *   `job.killGraceMs`; the attempt ends when the whole group is gone, so a child
 *   that traps TERM gets its grace even when the shell dies first. When the shell
 *   exits on its own, whatever is left of its group is SIGKILLed at once: no
 *   background child outlives its job.
 * - An empty log file is deleted (`logPath` is then absent); a failed attempt
 *   carries the last lines of its log as `outputTail`.
 * - The result promise always resolves, also when the shell cannot be started
 *   (`error` is set and there is no exit code).
 */
export function createLocalExecutor(): Executor {
  return { start: (request) => new LocalAttempt(request) };
}

class LocalAttempt implements RunningAttempt {
  readonly result: Promise<AttemptResult>;
  readonly pid: number | undefined;

  private resolve!: (result: AttemptResult) => void;
  private readonly job: JobSpec;
  private readonly startedAt = Date.now();
  private readonly t0 = performance.now();
  private child: ChildProcess | undefined;
  private output: PipeOutput | undefined;
  private ended = false;
  private timedOut = false;
  private stopRequested = false;
  /** The shell had exited on its own when the first stop came. */
  private exitedFirst = false;
  private termSent = false;
  private cancelTimeout: CancelTimer | undefined;
  private cancelGrace: CancelTimer | undefined;

  constructor(private readonly request: ExecRequest) {
    this.job = request.job;
    this.result = new Promise((resolve) => (this.resolve = resolve));
    this.pid = this.launch();
  }

  stop(immediate = false): void {
    if (this.pid === undefined || (this.ended && this.cancelGrace === undefined)) return;
    // A zombie shell exited before this stop; its exit is only not processed yet.
    if (!this.stopRequested && procStat(this.pid)?.state === 'Z') this.exitedFirst = true;
    this.stopRequested = true;
    this.terminate(immediate);
  }

  /** Open the log, spawn the shell, arm the timeout. Returns the pid when it started. */
  private launch(): number | undefined {
    const { job, logPath, onLine } = this.request;
    let fd: number;
    try {
      fd = openLog(logPath);
    } catch (err) {
      this.fail(`cannot open log file ${logPath}: ${(err as Error).message}`);
      return undefined;
    }
    let child: ChildProcess;
    try {
      child = spawn(job.shell, ['-c', job.command], {
        cwd: job.cwd,
        env: jobEnv(job.env),
        detached: true,
        stdio: onLine === undefined ? ['ignore', fd, fd] : ['ignore', 'pipe', 'pipe'],
      });
    } catch (err) {
      closeSync(fd);
      this.failToStart(err);
      return undefined;
    }
    this.child = child;
    trackGroup(child.pid);
    if (onLine === undefined) {
      closeSync(fd);
    } else {
      this.output = new PipeOutput(fd, logPath, onLine);
      this.output.attach('stdout', child.stdout);
      this.output.attach('stderr', child.stderr);
    }
    child.once('exit', (code, signal) => void this.onExit(code, signal));
    child.once('error', (err) => {
      // Only a failed spawn has no pid; other errors are followed by 'exit'.
      if (child.pid === undefined) void this.onSpawnError(err);
    });
    if (child.pid !== undefined && this.request.timeoutMs !== undefined) {
      this.cancelTimeout = startTimer(() => {
        this.cancelTimeout = undefined;
        if (!this.stopRequested) this.timedOut = true;
        this.terminate(false);
      }, this.request.timeoutMs);
    }
    return child.pid;
  }

  /** SIGTERM to the group with SIGKILL after the grace (or SIGKILL at once). */
  private terminate(immediate: boolean): void {
    if (immediate) {
      this.clearGrace();
      killGroup(this.pid, 'SIGKILL');
      return;
    }
    if (this.termSent) return;
    this.termSent = true;
    killGroup(this.pid, 'SIGTERM');
    this.cancelGrace = startTimer(() => {
      this.cancelGrace = undefined;
      killGroup(this.pid, 'SIGKILL');
    }, this.job.killGraceMs);
  }

  private async onExit(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.cancelTimeout?.();
    this.cancelTimeout = undefined;
    // When the shell dies of our SIGTERM, the rest of its group got SIGTERM too and
    // keeps its grace to clean up; the attempt ends when the group is gone or killed.
    if (this.cancelGrace !== undefined) await this.groupGoneOrGraceOver();
    this.clearGrace();
    // The shell is gone; its background children and grandchildren go with it.
    killGroup(this.pid, 'SIGKILL');
    untrackGroup(this.pid);
    const result = this.baseResult();
    if (this.stopRequested && !this.exitedFirst) result.stopped = true;
    if (code !== null) result.exitCode = code;
    if (signal !== null) result.signal = signal;
    const failed = code !== 0 || this.timedOut;
    let size: number;
    try {
      size =
        this.output !== undefined
          ? await this.output.finish()
          : statSync(this.request.logPath).size;
    } catch {
      size = 0;
    }
    if (failed) {
      const problem = logProblem(this.request.logPath, this.output?.logError);
      if (problem !== undefined) result.error = problem;
    }
    this.settleLog(result, size, failed);
  }

  /** Polls the process group until it is empty, or the grace ran out (SIGKILL sent). */
  private groupGoneOrGraceOver(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.cancelGrace === undefined || !groupAlive(this.pid)) resolve();
        else setTimeout(check, GROUP_POLL_MS);
      };
      check();
    });
  }

  private async onSpawnError(err: unknown): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
    if (this.output !== undefined) await this.output.finish().catch(() => 0);
    this.failToStart(err);
  }

  private failToStart(err: unknown): void {
    removeFile(this.request.logPath);
    this.fail(describeSpawnError(this.job, err));
  }

  private fail(error: string): void {
    this.ended = true;
    this.resolve({ ...this.baseResult(), error });
  }

  /** Drop an empty log; attach the tail of a failed attempt's log. Then resolve. */
  private settleLog(result: AttemptResult, size: number, failed: boolean): void {
    const { logPath } = this.request;
    if (size === 0) {
      removeFile(logPath);
    } else {
      result.logPath = logPath;
      if (failed) result.outputTail = readTail(logPath);
    }
    this.resolve(result);
  }

  private baseResult(): AttemptResult {
    return {
      attempt: this.request.attempt,
      startedAt: this.startedAt,
      durationMs: Math.round(performance.now() - this.t0),
      timedOut: this.timedOut,
      worker: this.request.worker,
    };
  }

  private clearGrace(): void {
    this.cancelGrace?.();
    this.cancelGrace = undefined;
  }

  private clearTimers(): void {
    this.cancelTimeout?.();
    this.cancelTimeout = undefined;
    this.clearGrace();
  }
}

/**
 * A plain-object snapshot of this process's environment, taken once: spawn walks the
 * env it is given on every call, and walking `process.env` (which asks the OS for
 * each variable) costs more per job than the fork itself on small jobs.
 */
let baseEnv: NodeJS.ProcessEnv | undefined;

function jobEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  baseEnv ??= { ...process.env };
  return Object.keys(env).length === 0 ? baseEnv : { ...baseEnv, ...env };
}

/**
 * Opens an attempt's log for writing. A log folder deleted while the run goes (a
 * cleanup script, `rm -rf` of the wrong thing) is made again rather than failing
 * every later job.
 */
function openLog(logPath: string): number {
  try {
    return openSync(logPath, 'w');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(dirname(logPath), { recursive: true });
    return openSync(logPath, 'w');
  }
}

/**
 * Why a failed attempt may have failed because of its log: writing it failed (piped
 * output), or its disk is full now (the job wrote to the file itself, so its own
 * write errors only show as its exit code, e.g. `echo: write error`).
 */
function logProblem(
  logPath: string,
  writeError: NodeJS.ErrnoException | undefined,
): string | undefined {
  if (writeError !== undefined)
    return `cannot write log file ${logPath}: ${writeError.code ?? writeError.message}`;
  try {
    const fs = statfsSync(dirname(logPath));
    if (fs.bavail === 0) return `log file ${logPath}: ENOSPC (its disk is full)`;
  } catch {
    // a folder we cannot look at: nothing more to say than the exit code
  }
  return undefined;
}

function removeFile(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or never created: nothing to clean up.
  }
}
