import type { RunEvent } from '../model/events.js';
import type { Report } from './report.js';
import type { StopNotice } from './stopping.js';

/**
 * A reporter is a set of optional hooks over the run's events. It renders; it
 * never changes the run. Hooks are called synchronously in event order; only
 * `onRunEnd` may return a promise (to write a file), and the CLI awaits it.
 */
export interface Reporter {
  /** Set when the reporter needs the whole report at the end (JSON, JUnit, HTML). */
  readonly needsReport?: boolean;
  /** Set when the reporter shows job output lines (so output must be piped). */
  readonly needsOutput?: boolean;
  /** Set when the reporter reads each attempt's stdout and stderr apart (their own files). */
  readonly needsStreams?: boolean;
  /**
   * Set when the reporter reads each attempt's output from files after its end: a remote
   * attempt's log is on its worker's machine, so its streams must come back here.
   */
  readonly needsRemoteStreams?: boolean;
  onRunStart?(event: RunEvent<'run_start'>): void;
  onJobQueued?(event: RunEvent<'job_queued'>): void;
  onJobStart?(event: RunEvent<'job_start'>): void;
  onJobOutput?(event: RunEvent<'job_output'>): void;
  onAttemptEnd?(event: RunEvent<'attempt_end'>): void;
  onJobRetry?(event: RunEvent<'job_retry'>): void;
  onJobEnd?(event: RunEvent<'job_end'>): void;
  onWorkersChange?(event: RunEvent<'workers_change'>): void;
  onRunStopping?(event: RunEvent<'run_stopping'>): void;
  onAlert?(event: RunEvent<'alert'>): void;
  onRunEnd?(event: RunEvent<'run_end'>, report: Report | undefined): void | Promise<void>;
  /**
   * A stop was asked for (a signal, or the reader of stdout went away); the jobs are
   * being stopped. Not a run event: it says what jobrun does, for people.
   */
  onStopping?(stop: Omit<StopNotice, 'running'>): void;
  /** Any event, for reporters that forward everything (the NDJSON stream). */
  onEvent?(event: RunEvent): void;
  /** Restore the terminal; called on every exit path, also on crashes. */
  dispose?(): void;
}
