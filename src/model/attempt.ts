/** The result of running one attempt of a job: a value, never a thrown error. */
export interface AttemptResult {
  /** 1-based. */
  attempt: number;
  /** Epoch milliseconds. */
  startedAt: number;
  durationMs: number;
  /** Absent when the process was killed by a signal or never started. */
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  /**
   * Set when the run stopped the attempt (an interrupt, a halt) while its process
   * still ran; one that had exited by itself before the stop reached it has not.
   */
  stopped?: boolean;
  /** Set when the process could not be started at all (bad shell, bad cwd). */
  error?: string;
  /** Which worker ran it: a slot number locally, `host:pid/slot` on Redis workers. */
  worker?: string;
  /** The last lines of the attempt's combined stdout/stderr, only kept for failures. */
  outputTail?: string;
  /** The log file holding this attempt's whole output. */
  logPath?: string;
}

/** An attempt succeeded when its process exited 0 without timing out. */
export function attemptSucceeded(a: AttemptResult): boolean {
  return a.exitCode === 0 && !a.timedOut && a.error === undefined;
}
