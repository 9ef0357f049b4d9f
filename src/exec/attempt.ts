import { mkdirSync, openSync, statfsSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import type { AttemptResult } from '../model/attempt.js';
import type { JobSpec } from '../model/job.js';
import { nulByteProblem } from '../model/nul-bytes.js';
import { whenGroupGone } from './group-watch.js';
import { killGroup } from './kill.js';
import { procStat } from './proc.js';
import { describeSpawnError } from './spawn-error.js';
import { readTail } from './tail.js';
import { startTimer, type CancelTimer } from './timer.js';
import type { ExecRequest, RunningAttempt } from './types.js';

/**
 * What every executor does around one process group, whoever starts it: the timeout,
 * SIGTERM → kill grace → SIGKILL of the group, SIGKILL of leftovers once the leader
 * exited, the empty-log and output-tail rules, and a result promise that never rejects.
 * A subclass starts the process and calls `running(pid)`, then `exited(...)` or one of
 * the failure methods. `started` resolves once the pid is known (or the start failed).
 *
 * - A timeout or `stop()` sends SIGTERM to the group, then SIGKILL after
 *   `job.killGraceMs`; the attempt ends when the whole group is gone, so a child
 *   that traps TERM gets its grace even when the shell dies first. When the shell
 *   exits on its own, whatever is left of its group is SIGKILLed at once: no
 *   background child outlives its job.
 * - A `stop()` that comes before the pid is known is applied as soon as it is.
 * - An empty log file is deleted (`logPath` is then absent), and so are the
 *   per-stream files (`separate`); a failed attempt carries the last lines of its
 *   log as `outputTail`.
 */
export abstract class GroupAttempt implements RunningAttempt {
  readonly result: Promise<AttemptResult>;
  readonly started: Promise<void>;
  readonly job: JobSpec;

  private resolve!: (result: AttemptResult) => void;
  private resolveStarted!: () => void;
  private groupPid: number | undefined;
  private leaderStart: number | undefined;
  private startedAt = Date.now();
  private t0 = performance.now();
  /** How long before it was heard of the leader ended (see `exited`). */
  private endedAgoMs = 0;
  private ended = false;
  private timedOut = false;
  private stopRequested = false;
  /**
   * Whether the first signal (a stop or the timeout) reached the job while it still
   * ran: undefined until one is sent and known. A job that ended on its own first keeps
   * its own ending (an exit 0 stays a success).
   */
  private signalReached: boolean | undefined;
  private pendingStop: boolean | undefined;
  private termSent = false;
  private cancelTimeout: CancelTimer | undefined;
  private cancelGrace: CancelTimer | undefined;

  constructor(protected readonly request: ExecRequest) {
    this.job = request.job;
    this.result = new Promise((resolve) => (this.resolve = resolve));
    this.started = new Promise((resolve) => (this.resolveStarted = resolve));
  }

  get pid(): number | undefined {
    return this.groupPid;
  }

  get startTicks(): number | undefined {
    return this.leaderStart;
  }

  stop(immediate = false): void {
    this.bound();
    if (this.ended && this.cancelGrace === undefined) return;
    if (this.groupPid === undefined) {
      // not started yet: remember the strongest request for when it is
      this.pendingStop = immediate || this.pendingStop === true;
      return;
    }
    this.stopRequested = true;
    this.terminate(immediate);
  }

  /**
   * An attempt that waited in a queue started `agoMs` ago: its start time and duration
   * count from then.
   */
  protected restartClock(agoMs = 0): void {
    this.startedAt = Date.now() - agoMs;
    this.t0 = performance.now() - agoMs;
  }

  /**
   * Ends the attempt before anything starts when the job cannot be started as given (a
   * NUL byte from a streamed item): true when it did.
   */
  protected refused(): boolean {
    const problem = nulByteProblem(this.job);
    if (problem !== undefined) this.fail(problem);
    return problem !== undefined;
  }

  /**
   * The job's process group leader is running: arm the timeout, apply an early stop.
   * `start` is its start time in ticks, read while it could not have been reaped;
   * `agoMs`, how long ago it started: that much of the timeout has gone.
   */
  protected running(pid: number, start: number | undefined, agoMs = 0): void {
    this.groupPid = pid;
    this.leaderStart = start;
    this.request.onStart?.(pid, start);
    this.resolveStarted();
    if (this.request.timeoutMs !== undefined) {
      this.cancelTimeout = startTimer(
        () => {
          this.cancelTimeout = undefined;
          if (!this.stopRequested) this.timedOut = true;
          this.bound();
          this.terminate(false);
        },
        Math.max(0, this.request.timeoutMs - agoMs),
      );
    }
    if (this.pendingStop !== undefined) this.stop(this.pendingStop);
  }

  /**
   * The leader exited (or died of `signal`). `outputSize` says how many bytes of
   * output there were (known now, or once the output is read); by default the log
   * file's size. `groupGone`: whoever reaped the leader saw its group empty, so there is
   * nothing left to kill; `agoMs`, how long before this call it was reaped. With the size
   * known now, the attempt settles before this returns.
   */
  protected async exited(
    code: number | null,
    signal: string | null,
    outputSize?: number | (() => Promise<number>),
    groupGone = false,
    agoMs = 0,
  ): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.endedAgoMs = agoMs;
    this.cancelTimeout?.();
    this.cancelTimeout = undefined;
    // When the shell dies of our SIGTERM, the rest of its group got SIGTERM too and
    // keeps its grace to clean up; the attempt ends when the group is gone or killed.
    if (this.cancelGrace !== undefined)
      await whenGroupGone(this.groupPid, () => this.cancelGrace === undefined);
    this.clearGrace();
    // The shell is gone; its background children and grandchildren go with it. (A group
    // seen empty stays empty: no process can join a group that has none.)
    if (!groupGone) killGroup(this.groupPid, 'SIGKILL');
    // a stop or timeout that came after the job had ended does not change its ending
    this.signalReached ??= false;
    if (!this.signalReached) this.timedOut = false;
    const result = this.baseResult();
    if (this.stopRequested && this.signalReached) result.stopped = true;
    if (code !== null) result.exitCode = code;
    if (signal !== null) result.signal = signal;
    let size: number;
    try {
      size =
        typeof outputSize === 'number'
          ? outputSize
          : outputSize !== undefined
            ? await outputSize()
            : statSync(this.request.logPath).size;
    } catch {
      size = 0;
    }
    this.addOutputs(result);
    // output jobrun could not keep fails the attempt even after an exit 0: shown output,
    // results and a stage's items would miss what it printed (a full disk)
    const writeError = this.logWriteError();
    if ((writeError !== undefined || code !== 0 || this.timedOut) && result.error === undefined) {
      const problem = logProblem(this.request.logPath, writeError);
      if (problem !== undefined) result.error = problem;
    }
    this.settleLog(result, size, code !== 0 || this.timedOut || result.error !== undefined);
  }

  /**
   * Once the output is read to its end: what a subclass that piped it adds to the
   * result (the per-stream files, the captured result). Nothing by default.
   */
  protected addOutputs(_result: AttemptResult): void {}

  /**
   * The attempt is stopped or timed out, maybe after it exited: output it still reads
   * stops waiting for a slow reader of jobrun's output (see `PipeOutput.bound`).
   */
  protected bound(): void {}

  /** The process could not be started: the log is removed, `error` says why. */
  protected failToStart(err: unknown): void {
    this.clearTimers();
    removeFile(this.request.logPath);
    this.removeStreamFiles();
    const { error, exitCode } = describeSpawnError(this.job, err);
    this.fail(error, exitCode);
  }

  /**
   * The attempt ends without an exit status of its own (`error` says why; `exitCode`
   * where a shell would have given one, see `describeSpawnError`). A group that may
   * still run is SIGKILLed: nothing could report its end any more.
   */
  protected fail(error: string, exitCode?: number): void {
    if (this.ended) return;
    this.ended = true;
    this.clearTimers();
    killGroup(this.groupPid, 'SIGKILL');
    const result: AttemptResult = { ...this.baseResult(), error };
    if (exitCode !== undefined) result.exitCode = exitCode;
    this.settle(result);
  }

  /** End with `result` (also one made elsewhere, by a fallback executor). */
  protected settle(result: AttemptResult): void {
    this.ended = true;
    this.resolveStarted();
    this.resolve(result);
  }

  /** Resolve `started` without a pid of our own (a fallback executor started it). */
  protected announceStarted(): void {
    this.resolveStarted();
  }

  /** A stop asked for before the process started (`true`: immediate), and forget it. */
  protected takePendingStop(): boolean | undefined {
    const pending = this.pendingStop;
    this.pendingStop = undefined;
    return pending;
  }

  /** The first error writing the log, when the runner writes it (piped output). */
  protected logWriteError(): NodeJS.ErrnoException | undefined {
    return undefined;
  }

  /** The runner removed the log itself when no byte came (the spawner, when it said so). */
  protected emptyLogRemoved(): boolean {
    return false;
  }

  protected get isEnded(): boolean {
    return this.ended;
  }

  /**
   * Sends `signal` to the job's group. Here the leader is this process's child: until
   * Node reaps it (in a later turn of the event loop, which would have ended this
   * attempt first), a zombie leader means the job had ended before the signal.
   */
  protected signalGroup(signal: NodeJS.Signals): void {
    if (this.signalReached === undefined && this.groupPid !== undefined)
      this.signalReached = procStat(this.groupPid)?.state !== 'Z';
    killGroup(this.groupPid, signal);
  }

  /** The first signal reached the job while it ran (told by whoever sent it). */
  protected signalLanded(): void {
    if (!this.ended) this.signalReached ??= true;
  }

  /** SIGTERM to the group with SIGKILL after the grace (or SIGKILL at once). */
  private terminate(immediate: boolean): void {
    if (immediate) {
      this.clearGrace();
      this.signalGroup('SIGKILL');
      return;
    }
    if (this.termSent) return;
    this.termSent = true;
    this.signalGroup('SIGTERM');
    this.cancelGrace = startTimer(() => {
      this.cancelGrace = undefined;
      this.signalGroup('SIGKILL');
    }, this.job.killGraceMs);
  }

  /** Drop an empty log; attach the tail of a failed attempt's log. Then resolve. */
  private settleLog(result: AttemptResult, size: number, failed: boolean): void {
    const { logPath } = this.request;
    if (size === 0) {
      // no byte, so no stream file either: each is made at its stream's first byte
      if (!this.emptyLogRemoved()) removeFile(logPath);
      delete result.stdoutPath;
      delete result.stderrPath;
    } else {
      result.logPath = logPath;
      if (failed) result.outputTail = readTail(logPath);
    }
    this.settle(result);
  }

  private removeStreamFiles(): void {
    const { separate } = this.request;
    if (separate === undefined) return;
    removeFile(separate.stdoutPath);
    removeFile(separate.stderrPath);
  }

  private baseResult(): AttemptResult {
    return {
      attempt: this.request.attempt,
      startedAt: this.startedAt,
      durationMs: Math.round(performance.now() - this.endedAgoMs - this.t0),
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
 * Opens an attempt's log for writing. A log folder deleted while the run goes (a
 * cleanup script, `rm -rf` of the wrong thing) is made again rather than failing
 * every later job.
 */
export function openLog(logPath: string): number {
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
 * output), or its disk is full now (a job writing to the file itself only shows its
 * write errors as its exit code, e.g. `echo: write error`).
 */
function logProblem(
  logPath: string,
  writeError: NodeJS.ErrnoException | undefined,
): string | undefined {
  if (writeError !== undefined)
    return `cannot write log file ${logPath}: ${writeError.code ?? writeError.message}`;
  try {
    if (statfsSync(dirname(logPath)).bavail === 0)
      return `log file ${logPath}: ENOSPC (its disk is full)`;
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
