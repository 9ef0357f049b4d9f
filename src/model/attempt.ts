import type { CapturedResult } from './result.js';

/** The result of running one attempt of a job: a value, never a thrown error. */
export interface AttemptResult {
  /** 1-based. */
  attempt: number;
  /** Epoch milliseconds. */
  startedAt: number;
  durationMs: number;
  /**
   * Absent when the process was killed by a signal or never started, but for a program
   * (or shell) not found or not executable: 127 or 126 then, as a shell and xargs say.
   */
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  /**
   * Set when the run stopped the attempt (an interrupt, a halt) while its process
   * still ran; one that had exited by itself before the stop reached it has not.
   */
  stopped?: boolean;
  /**
   * Why the attempt failed although its process may have exited 0: it could not be
   * started at all (bad shell, bad cwd), or its captured stdout was not valid JSON.
   */
  error?: string;
  /** Which worker ran it: a slot number locally, `host:pid/slot` on Redis workers. */
  worker?: string;
  /** The last lines of the attempt's combined stdout/stderr, only kept for failures. */
  outputTail?: string;
  /** The log file holding this attempt's whole output. */
  logPath?: string;
  /**
   * The captured result (`job.capture`): stdout as a string, its lines, or its JSON,
   * from at most `capture.maxBytes` bytes of stdout. Never stderr.
   */
  result?: CapturedResult;
  /** Set when stdout was longer than the capture limit: `result` holds only its start. */
  resultTruncated?: true;
  /** Files with only this attempt's stdout / stderr, when the request asked to `separate`. */
  stdoutPath?: string;
  stderrPath?: string;
  /**
   * Set by a Redis worker that found the job in its cache instead of running it: why
   * (`unchanged since …`). Its outputs were restored there and `result` is the stored one.
   */
  cached?: string;
  /**
   * Set on a remote attempt that no worker started: withdrawn from its queue, or dropped
   * by the worker holding it, at a stop. It is no attempt: the scheduler records none,
   * and the job ends as a local one that never started would.
   */
  unstarted?: true;
}

/** An attempt succeeded when its process exited 0 without timing out. */
export function attemptSucceeded(a: AttemptResult): boolean {
  return a.exitCode === 0 && !a.timedOut && a.error === undefined;
}

/**
 * Exit codes with which a shell says the command could not run at all: 126 (found but
 * not executable) and 127 (not found). Another attempt would end the same way, so such
 * an attempt is never retried, whatever `retries` says.
 */
const CANNOT_RUN = new Set([126, 127]);

/** Whether another attempt could end differently (see `CANNOT_RUN`). */
export function worthRetrying(a: AttemptResult): boolean {
  return a.exitCode === undefined || !CANNOT_RUN.has(a.exitCode);
}
