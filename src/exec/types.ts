import type { AttemptResult } from '../model/attempt.js';
import type { JobSpec } from '../model/job.js';

export type OutputStream = 'stdout' | 'stderr';

/** What the executor needs to run one attempt of a job. */
export interface ExecRequest {
  job: JobSpec;
  /** 1-based attempt number. */
  attempt: number;
  /** The effective timeout for this attempt (relative timeouts already resolved). */
  timeoutMs?: number;
  /** File that receives the attempt's combined stdout and stderr; its folder exists. */
  logPath: string;
  /** Label of the worker slot running it, copied into the result. */
  worker: string;
  /**
   * When given, output is piped through the runner and each whole line is passed
   * here (and still written to the log), with whether a newline ended it (see
   * `LineHandler`). Without it the child writes straight to the log file and the
   * runner never touches the bytes.
   */
  onLine?: (stream: OutputStream, line: string, newline: boolean) => void;
  /**
   * When given, the child's stdout and stderr must also reach these two files, each
   * holding only its own stream (the log file keeps both). Reporters read them to keep
   * the streams apart: `--output grouped` and `--results DIR`. The result then carries
   * `stdoutPath`/`stderrPath`.
   *
   * Together with `job.capture` (keep the start of stdout as `result`), this says
   * which streams must come back to the runner apart: the executor reads them through
   * pipes (jobrun's own, or the spawner's) and the attempt ends once they are read.
   * A stream that printed nothing may have no file.
   */
  separate?: { stdoutPath: string; stderrPath: string };
  /**
   * With `onLine`: jobrun's own output falling behind its reader. While it is, the
   * attempt's pipes are not read, so the job blocks on its own output (as under GNU
   * parallel) rather than its lines waiting in jobrun's memory.
   */
  backpressure?: Backpressure;
  /**
   * Told the job's process group (its leader's pid and start ticks) the moment the
   * executor learns them, before `started` resolves: what must be on record before the
   * start is announced goes here. A spawner's reports of several starts, read at once,
   * are all told before any of them is announced (so their journal lines share a write).
   */
  onStart?: (pid: number, start: number | undefined) => void;
  /**
   * Told a spawner process (its pid, which is its process group, and its start ticks) as
   * it is made to start this job, before any job is sent to it. A spawner stops its jobs
   * when jobrun dies, also one whose start it had not told yet: what must know of every
   * process that may still stop a job of the run goes here (`--resume` waits for them).
   */
  onSpawner?: (pid: number, start: number | undefined) => void;
}

/**
 * jobrun's output not keeping up with the jobs' (a slow or stopped reader of its stdout):
 * no job starts and piped output is not read while `blocked`.
 */
export interface Backpressure {
  readonly blocked: boolean;
  /** Calls `clear` once nothing is blocked any more (at once if nothing is). */
  whenClear(clear: () => void): void;
}

/** Handle on an attempt in flight. */
export interface RunningAttempt {
  /** Always resolves (never rejects), also when the process could not start. */
  readonly result: Promise<AttemptResult>;
  /**
   * The pid of the job's process group leader, once known. Executors that learn it
   * later (from a spawner process) set `started`, which resolves when `pid` is set or
   * the start failed, always before `result`.
   */
  readonly pid?: number;
  /**
   * The leader's start time in clock ticks since boot, read before it could be reaped;
   * with the boot id it names the process for good (a recycled pid has another one).
   * Undefined where there is no /proc or the start failed.
   */
  readonly startTicks?: number;
  readonly started?: Promise<void>;
  /**
   * Stop the attempt: SIGTERM to its whole process group, SIGKILL after the job's
   * kill grace, or at once when `immediate`. Idempotent; a second call with
   * `immediate` escalates.
   */
  stop(immediate?: boolean): void;
  /** A next attempt may now be queued behind this one (`Executor.startAfter`). */
  readonly canQueue?: boolean;
  /**
   * Only for an attempt queued behind another: resolves true once it left the queue and
   * started (or failed to start: `started` and `result` follow as for any attempt),
   * false when it was withdrawn or handed back and never started (`result` then never
   * settles). Before that, `stop()` withdraws it (and stops it, should it have started
   * first).
   */
  readonly taken?: Promise<boolean>;
  /** Asks that a queued attempt not start; `taken` tells whether that came in time. */
  withdraw?(): void;
  /**
   * For an attempt handed to a backend that may or may not have started it (Redis): it
   * must not start now, but if it did already it runs on to its end. `result` settles
   * either way: with `unstarted` set when it never ran.
   */
  dropUnlessStarted?(): void;
}

/** Runs attempts. The local implementation spawns child processes; tests pass fakes. */
export interface Executor {
  start(request: ExecRequest): RunningAttempt;
  /**
   * Queues `request` to start the moment `after` ends (its process reaped, before its
   * end reaches jobrun), if `after` exits 0; else it is handed back (`taken` false).
   * Undefined where it cannot be queued (`after.canQueue` false, piped output, …).
   */
  startAfter?(request: ExecRequest, after: RunningAttempt): RunningAttempt | undefined;
}

/** Attempts whose output jobrun must read itself: lines, streams apart, a captured result. */
export function needsPipes(request: ExecRequest): boolean {
  return (
    request.onLine !== undefined ||
    request.separate !== undefined ||
    request.job.capture !== undefined
  );
}
