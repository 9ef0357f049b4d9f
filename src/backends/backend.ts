import type { HandedOut, RunOutcome, SchedulerOptions } from '../core/scheduler.js';
import type { JobSpec } from '../model/job.js';
import type { RunControls } from '../core/steering.js';
import type { StopSignal } from '../model/stop.js';

/**
 * What a run needs from a backend. The CLI builds these options exactly as it would
 * for a local scheduler (reporters, journal, halt policy, `--only`), plus the run's
 * identity, which a backend that keeps state elsewhere (Redis) uses to find the run
 * again after a coordinator restart.
 */
export interface RunOptions extends Omit<SchedulerOptions, 'executor'> {
  /** The identity the CLI computes for the journal: same manifest (or ad-hoc command), same run. */
  identity: string;
  /** `--resume`: re-attach to the unfinished run instead of starting a fresh one. */
  resume: boolean;
  /**
   * `--explain` on Redis, where the workers look jobs up in their caches (`cache` is a
   * local run's): told why a cached job runs, as its worker found.
   */
  cacheExplain?: (job: JobSpec, why: string[]) => void;
}

/** One run on a backend. Shaped like the scheduler so the CLI drives both the same way. */
export interface BackendRun {
  /**
   * Runs every job from `source` to exactly one final state, emitting the run's events
   * (run_start … run_end) through `options.emit`. Never rejects for a job's failure.
   */
  run(source: JobSpec[] | AsyncIterable<JobSpec>): Promise<RunOutcome>;
  /** Ctrl-C: start nothing more, stop what runs; a second call skips the grace. */
  interrupt(signal: StopSignal): void;
  /** Stops the run for a reason of jobrun's own (a reporter failed), as an interrupt does. */
  abort(reason: string): void;
  /** What `jobrun pause/scale/cancel/drain` may do to it; undefined when nothing. */
  readonly controls?: RunControls;
  /** What a stop now would stop, for the line that says so; where the run knows (local). */
  handedOut?(): HandedOut;
}

export interface Backend {
  createRun(options: RunOptions): BackendRun;
  /** Releases connections; call once the run ended. */
  close(): Promise<void>;
}
