import { attemptSucceeded, type AttemptResult } from '../model/attempt.js';
import type { JobRecord } from '../model/events.js';
import type { JobSpec } from '../model/job.js';
import { Alarm } from './alarm.js';
import { systemClock, type Clock } from './clock.js';
import { createDispatch, type Dispatch } from './dispatch.js';
import { newEntry, notStarted, type Entry } from './entry.js';
import { Feeder } from './feeder.js';
import { HaltTracker } from './halt.js';
import { MedianTracker, timeoutFor } from './median.js';
import { Needs } from './needs.js';
import { ReadyQueues } from './ready-queues.js';
import { attemptsRecord, excludedRecord, resumedRecord, Tally } from './records.js';
import type { RunOutcome, SchedulerOptions } from './scheduler-options.js';
import type { StopSignal } from '../model/stop.js';

export type { RunOutcome, SchedulerOptions };

/**
 * The heart of a run, as a state machine: a job is pending until its needs succeed
 * (`Needs`), queued by priority until a slot and its pool have room, running until its
 * attempt ends (`Dispatch`), retrying after a backoff, and ends in one final state,
 * which may halt the run (`HaltTracker`). Every change of state is an event; it writes
 * nothing to the terminal.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly dispatch: Dispatch;
  private readonly queues: ReadyQueues<Entry>;
  private readonly needs = new Needs();
  private readonly halt: HaltTracker | undefined;
  private readonly feeder: Feeder;
  private readonly alarm: Alarm;
  private readonly inFlight = new Set<Entry>();
  private readonly medians = new MedianTracker();
  private readonly tally = new Tally();
  private readonly startedAt: number;
  private inputDone = false;
  private stopping = false;
  private stopReason = '';
  private interrupted: StopSignal | undefined;
  private inputError: string | undefined;
  private crashed: { error: unknown } | undefined;
  private halted: string | undefined;
  private finish: (() => void) | undefined;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.dispatch = createDispatch({ ...options, clock: this.clock });
    this.queues = new ReadyQueues<Entry>(options.order, (pool) => this.dispatch.poolLimit(pool));
    this.halt = options.halt && new HaltTracker(options.halt);
    this.feeder = new Feeder(options.maxQueue ?? 10_000, () => this.queues.size);
    this.alarm = new Alarm(this.clock, () => this.pump());
    this.startedAt = this.clock.now();
  }

  /** Runs every job from `source` to a final state. Never rejects for a job's failure. */
  async run(source: JobSpec[] | AsyncIterable<JobSpec>): Promise<RunOutcome> {
    const { emit, runId, manifestPath, logDir } = this.options;
    const total = Array.isArray(source) ? source.length : null;
    emit('run_start', { runId, manifestPath, total, workers: this.dispatch.workers, logDir });
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    if (Array.isArray(source)) {
      this.addAll(source);
      this.inputEnded();
      this.pump();
    } else {
      this.feeder
        .feed(source, (spec) => this.accept(spec))
        .catch((err: unknown) => this.inputFailed(err))
        .then(() => this.inputEnded())
        .catch((err: unknown) => this.crash(err));
    }
    this.checkDone();
    await done;
    if (this.crashed) throw this.crashed.error;
    const durationMs = this.clock.now() - this.startedAt;
    const outcome = this.tally.outcome(durationMs, this.interrupted, this.halted, this.inputError);
    emit('run_end', { runId, ...outcome });
    return outcome;
  }

  /**
   * Stops the run: no more starts, waiting jobs are cancelled, running ones get
   * SIGTERM and SIGKILL after their grace. A second call skips the grace.
   */
  interrupt(signal: StopSignal): void {
    const again = this.interrupted !== undefined;
    if (!again) this.stopReason = `interrupted by ${signal}`;
    this.interrupted ??= signal;
    this.stop(`interrupted by ${signal}`, again);
  }

  /**
   * Stops the run as an interrupt does, for a reason of jobrun's own (a reporter
   * that failed): running jobs get SIGTERM, then SIGKILL after their grace.
   */
  abort(reason: string): void {
    this.stop(reason, false);
  }

  /**
   * A streamed source that failed (a read error, a line over the cap) stops the run
   * with its message; one closed because the run stopped (Ctrl-C) is no error.
   */
  private inputFailed(err: unknown): void {
    if (this.stopping) return;
    this.inputError = (err as Error)?.message ?? String(err);
    this.halted = `an input error: ${this.inputError}`;
    this.stop('stopped by an input error', false);
  }

  /**
   * A bug in the scheduler's own bookkeeping (an exception in a promise callback):
   * the run cannot be trusted to go on. Running jobs are killed and `run` rejects.
   */
  private crash(error: unknown): void {
    if (this.crashed) return;
    this.crashed = { error };
    for (const entry of this.inFlight) entry.running?.stop(true);
    const finish = this.finish;
    this.finish = undefined;
    finish?.();
  }

  private addAll(specs: JobSpec[]): void {
    const entries = specs.map((spec) => this.register(spec));
    this.needs.link(entries);
    const { selected, alreadyDone } = this.options;
    const now = this.clock.now();
    // in passes: a job left out takes its dependants with it before any is resumed or queued
    const pending = (act: (entry: Entry) => void) =>
      entries.forEach((entry) => entry.status === 'pending' && act(entry));
    pending((e) => selected?.(e.spec) === false && this.end(e, excludedRecord(e, now)));
    pending((e) => alreadyDone?.(e.spec) && this.end(e, resumedRecord(e, now)));
    pending((e) => e.waiting === 0 && this.enqueue(e));
  }

  /** One streamed job; with `linkStreamed`, it may need jobs streamed before it. */
  private accept(spec: JobSpec): void {
    const entry = this.register(spec);
    const now = this.clock.now();
    if (this.options.linkStreamed) {
      const stopped = this.stopping ? this.stopReason : undefined;
      const ended = this.needs.linkOne(entry, now, stopped);
      if (ended) return this.end(entry, ended);
    }
    if (this.options.alreadyDone?.(spec)) {
      this.end(entry, resumedRecord(entry, now));
    } else if (entry.waiting === 0) {
      this.enqueue(entry);
      this.pump();
    }
  }

  private register(spec: JobSpec): Entry {
    this.tally.added();
    this.halt?.added();
    return newEntry(spec);
  }

  private inputEnded(): void {
    this.inputDone = true;
    this.checkDone();
  }

  private enqueue(entry: Entry): void {
    entry.status = 'queued';
    this.queues.push(entry);
    const { name, priority, pool } = entry.spec;
    this.options.emit('job_queued', { id: entry.id, name, priority, pool });
  }

  /** Starts as many ready jobs as the dispatch's slots, pool limits and start gate allow. */
  private pump(): void {
    if (this.stopping) return;
    const now = this.clock.now();
    const limit = this.dispatch.limit(this.queues.size, this.inFlight.size, now);
    while (this.inFlight.size < limit && this.queues.size > 0) {
      const wait = this.dispatch.gateWait(now);
      if (wait > 0) {
        this.alarm.in(wait);
        break;
      }
      const entry = this.queues.take();
      if (!entry) break;
      this.start(entry, now);
    }
    this.feeder.wake(); // what was taken made room
    const recheck = this.dispatch.recheckIn(now);
    if (recheck !== undefined) this.alarm.in(recheck);
  }

  private start(entry: Entry, now: number): void {
    entry.status = 'running';
    this.inFlight.add(entry);
    const attempt = entry.attempts.length + 1;
    const timeoutMs = timeoutFor(entry.spec, this.medians);
    this.dispatch.start(entry, { attempt, timeoutMs, now });
    entry.running?.result
      .then((result) => this.attemptEnded(entry, result))
      .catch((err: unknown) => this.crash(err));
  }

  private attemptEnded(entry: Entry, result: AttemptResult): void {
    this.inFlight.delete(entry);
    this.queues.release(entry);
    this.dispatch.ended(entry);
    entry.running = undefined;
    entry.attempts.push(result);
    this.options.emit('attempt_end', { id: entry.id, name: entry.spec.name, result });
    const now = this.clock.now();
    if (entry.killed && (result.stopped || !attemptSucceeded(result))) {
      // the run stopped it; one that had exited 0 before the stop reached it did
      // finish on its own, so it counts as succeeded below
      this.end(entry, attemptsRecord(entry, 'cancelled', now, this.stopReason));
    } else if (attemptSucceeded(result)) {
      this.medians.add(result.durationMs);
      this.end(entry, attemptsRecord(entry, 'succeeded', now));
    } else if (this.stopping || !this.dispatch.retry(entry, () => this.retryDue(entry))) {
      this.end(entry, attemptsRecord(entry, result.timedOut ? 'timed_out' : 'failed', now));
    }
    this.pump();
    this.checkDone();
  }

  private retryDue(entry: Entry): void {
    this.enqueue(entry);
    this.pump();
  }

  /** Moves a job to its final state, settles its dependants, and applies the halt policy. */
  private end(entry: Entry, record: JobRecord): void {
    entry.status = record.status;
    this.tally.ended(record);
    this.options.emit('job_end', { job: record });
    const stopped = this.stopping ? this.stopReason : undefined;
    const { ready, blocked } = this.needs.settle(entry, record, stopped);
    for (const dependent of ready) this.enqueue(dependent);
    for (const [dependent, skip] of blocked) {
      // an earlier one's cascade may have ended it already
      if (dependent.status === 'pending') this.end(dependent, skip);
    }
    if (this.halt && !this.stopping && this.halt.jobEnded(record)) {
      const { policy } = this.halt;
      this.halted = `--halt ${policy.text}`;
      this.stop(`halted by ${this.halted}`, false, policy.when === 'now');
    }
    this.feeder.wake();
  }

  /** Stops dispatch and cancels every job that has not started. */
  private stop(reason: string, immediate: boolean, killRunning = true): void {
    if (!this.stopping) {
      this.stopping = true;
      this.stopReason = reason;
      const cancel = (entry: Entry) => {
        if (notStarted(entry))
          this.end(entry, attemptsRecord(entry, 'cancelled', this.clock.now(), reason));
      };
      this.queues.drain().forEach(cancel);
      this.dispatch.cancelRetries().forEach(cancel);
      for (const entry of this.needs.entries()) cancel(entry);
      this.inputDone = true;
      this.feeder.stop();
    }
    for (const entry of this.inFlight) {
      if (killRunning || this.dispatch.withdraws(entry)) {
        entry.killed = true;
        entry.running?.stop(immediate);
      }
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (!this.inputDone || this.tally.unfinished > 0 || !this.finish) return;
    this.alarm.clear();
    const finish = this.finish;
    this.finish = undefined;
    finish();
  }
}
