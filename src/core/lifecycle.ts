import type { JobRecord } from '../model/events.js';
import type { StopSignal } from '../model/stop.js';
import { HaltTracker, type HaltPolicy } from './halt.js';
import { Tally } from './records.js';
import type { RunOutcome } from './scheduler-options.js';

/** What one stop asks of the scheduler. */
export interface StopOrder {
  /** The run's first stop: cancel every job that has not started, read no more input. */
  first: boolean;
  /** Stop the running jobs too (`--halt soon` lets them finish). */
  killRunning: boolean;
  /** Skip the kill grace: SIGKILL at once. */
  immediate: boolean;
}

/**
 * A run's course from its first job to its outcome. It counts jobs in and out
 * (`Tally`), judges each ended one by the halt policy, and records what stops the
 * run: an interrupt (a signal, a closed stdout), an abort of jobrun's own (a reporter
 * that failed), an input that failed, or the halt policy. The first stop names the
 * reason the jobs it cancels carry; an interrupt renames it, since whatever is killed
 * after Ctrl-C was killed by it. The run is `over` once its input has ended and every
 * job that entered it has ended, or at once on a crash.
 */
export class Lifecycle {
  /** Settles when the run is over; `outcome` then says how it went. */
  readonly over: Promise<void>;
  private finish!: () => void;
  private inputDone = false;
  private readonly tally = new Tally();
  private readonly halt: HaltTracker | undefined;
  private why: string | undefined;
  private interrupted: StopSignal | undefined;
  private halted: string | undefined;
  private inputError: string | undefined;
  private aborted = false;
  private crashed: { error: unknown } | undefined;

  constructor(halt?: HaltPolicy) {
    this.halt = halt && new HaltTracker(halt);
    this.over = new Promise<void>((resolve) => (this.finish = resolve));
  }

  /** No more starts, retries or input. */
  get stopping(): boolean {
    return this.why !== undefined;
  }

  /** The reason a job the stop cancels carries; undefined while the run goes on. */
  get reason(): string | undefined {
    return this.why;
  }

  /** A job entered the run. */
  added(): void {
    this.tally.added();
    this.halt?.added();
  }

  /** A stage's pending entry left the run; its jobs were added first. */
  withdrawn(): void {
    this.tally.withdrawn();
    this.halt?.withdrawn();
    this.check();
  }

  /**
   * A job ended. Returns the stop the halt policy orders, if it does; jobs that end
   * while the run stops are not judged.
   */
  ended(record: JobRecord): StopOrder | undefined {
    this.tally.ended(record);
    this.check();
    const { halt } = this;
    if (!halt || this.stopping || !halt.jobEnded(record)) return undefined;
    this.halted = halt.policy.text;
    return this.stop(`halted by ${this.halted}`, halt.policy.when === 'now');
  }

  /** No more jobs will come in. */
  inputEnded(): void {
    this.inputDone = true;
    this.check();
  }

  /**
   * Stopped from outside; a second signal skips the grace. With `graceful`, the first
   * signal lets running jobs go on (the caller stops them when its grace runs out).
   */
  interrupt(signal: StopSignal, graceful = false): StopOrder {
    const again = this.interrupted !== undefined;
    this.interrupted ??= signal;
    const order = this.stop(`interrupted by ${signal}`, again || !graceful);
    if (!again) this.why = `interrupted by ${signal}`;
    return { ...order, immediate: again };
  }

  /** `jobrun drain`: start nothing more, let running jobs finish. */
  drain(reason: string): StopOrder {
    return this.stop(reason, false);
  }

  /** Stopped for a reason of jobrun's own, as an interrupt stops it; never exit 0. */
  abort(reason: string): StopOrder {
    this.aborted = true;
    return this.stop(reason);
  }

  /**
   * A streamed source failed (a read error, a line over the cap): the run stops with
   * its message and exit 2. One closed because the run stopped (Ctrl-C) is no error.
   */
  inputFailed(err: unknown): StopOrder | undefined {
    if (this.stopping) return undefined;
    this.inputError = (err as Error)?.message ?? String(err);
    this.halted = `an input error: ${this.inputError}`;
    return this.stop('stopped by an input error');
  }

  /**
   * A bug in the scheduler's own bookkeeping: the run cannot be trusted to go on, so
   * it is over at once and `outcome` throws `error`. False when it had crashed already.
   */
  crash(error: unknown): boolean {
    if (this.crashed) return false;
    this.crashed = { error };
    this.finish();
    return true;
  }

  /** The run's outcome from its counts and how it stopped; throws a crash's error. */
  outcome(durationMs: number): RunOutcome {
    if (this.crashed) throw this.crashed.error;
    const outcome = this.tally.outcome(durationMs, this.interrupted, this.halted, this.inputError);
    // jobs it cancelled did not run: an abort is jobrun's failure (70), unless a signal came
    if (this.aborted && !this.interrupted) outcome.exitCode = 70;
    return outcome;
  }

  private stop(reason: string, killRunning = true): StopOrder {
    const first = !this.stopping;
    if (first) {
      this.why = reason;
      this.inputDone = true;
      this.check();
    }
    return { first, killRunning, immediate: false };
  }

  private check(): void {
    if (this.inputDone && this.tally.unfinished === 0) this.finish();
  }
}
