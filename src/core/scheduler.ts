import { attemptSucceeded, type AttemptResult } from '../model/attempt.js';
import type { JobRecord } from '../model/events.js';
import type { JobSpec } from '../model/job.js';
import type { StopSignal } from '../model/stop.js';
import { Admission } from './admission.js';
import { Alarm } from './alarm.js';
import type { CacheLookup } from './cache-lookup.js';
import { systemClock, type Clock } from './clock.js';
import { createDispatch, type Dispatch, type StartRequest } from './dispatch.js';
import { notStarted, type Entry } from './entry.js';
import { Intake } from './intake.js';
import { Lifecycle, type StopOrder } from './lifecycle.js';
import { MedianTracker, timeoutFor } from './median.js';
import { Needs } from './needs.js';
import type { Pipeline } from './pipeline.js';
import { wirePolicies } from './policies.js';
import type { QueueAhead } from './queue-ahead.js';
import { ReadyQueues } from './ready-queues.js';
import { attemptsRecord } from './records.js';
import type { Controls } from './run-controls.js';
import type { SchedulerCore } from './scheduler-core.js';
import type { RunOutcome, SchedulerOptions } from './scheduler-options.js';
import { Steering, type CancelOutcome, type RunControls } from './steering.js';

export type { RunOutcome, SchedulerOptions };

/**
 * The jobs a stop would signal, as the scheduler knows them. A spawner tells a start (and
 * the end of the job before it) up to 50 ms late while jobs wait queued behind the one it
 * runs, and a new spawner only once it is up: the jobs the reporters heard start are
 * fewer, and their graces may be shorter, than those a stop reaches.
 */
export interface HandedOut {
  /** Attempts handed to the executor and not heard to end: some may not have started. */
  jobs: number;
  /** The longest kill grace of those and of the jobs queued behind them; none when there are none. */
  graceMs?: number;
}

/** Jobs that may wait to start (in memory, or in a remote queue) without `maxQueue`. */
const DEFAULT_MAX_QUEUE = 10_000;

/**
 * The heart of a run, as a state machine: a job enters (`Admission`), is pending until
 * its needs succeed (`Needs`), queued by priority until a slot and its pool have room,
 * running until its attempt ends (`Dispatch`), retrying after a backoff, and ends in
 * one final state, which may halt the run (`Lifecycle`). Every change of state is an
 * event; it writes nothing to the terminal.
 *
 * Its policies are wired here, each behind the `SchedulerCore` it is given: verbs from
 * outside (`Controls`), jobs queued ahead in spawners (`QueueAhead`), cache lookups
 * (`CacheLookup`), a pipeline's stages and results (`Pipeline`), and how jobs enter
 * (`Intake`). The verbs of `RunControls` are `Controls`'s, answered here too.
 */
export class Scheduler implements RunControls {
  private readonly clock: Clock;
  private readonly dispatch: Dispatch;
  private readonly queues: ReadyQueues<Entry>;
  private readonly needs = new Needs();
  private readonly admission: Admission;
  private readonly lifecycle: Lifecycle;
  private readonly intake: Intake;
  private readonly alarm: Alarm;
  private readonly inFlight = new Set<Entry>();
  private readonly medians = new MedianTracker();
  private readonly startedAt: number;
  private readonly steer: Steering;
  private readonly pipeline: Pipeline;
  private readonly lookup: CacheLookup;
  private readonly ahead: QueueAhead | undefined;
  private readonly ctl: Controls;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.steer = new Steering(Object.keys(options.pools));
    this.dispatch = createDispatch({
      ...options,
      clock: this.clock,
      maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
      onRoom: () => this.pump(),
    });
    this.queues = new ReadyQueues<Entry>(options.order, (pool) =>
      this.steer.poolLimit(pool, this.dispatch.poolLimit(pool)),
    );
    this.lifecycle = new Lifecycle(options.halt);
    this.admission = new Admission(options, this.needs, {
      added: () => this.lifecycle.added(),
      end: (entry, record) => this.end(entry, record),
      enqueue: (entry) => this.enqueue(entry),
      pump: () => this.pump(),
      linked: (entries) => this.pipeline.adopt(entries),
    });
    this.alarm = new Alarm(this.clock, () => this.pump());
    this.startedAt = this.clock.now();
    const core = this.core();
    const policies = wirePolicies(core, options, this.steer, {
      admit: (entry) => this.admission.expanded(entry, this.clock.now(), this.lifecycle.reason),
      enqueue: (entry) => this.enqueue(entry),
      launch: (entry, now) => this.launch(entry, now),
      watch: (entry) => this.watch(entry),
    });
    this.pipeline = policies.pipeline;
    this.lookup = policies.lookup;
    this.ahead = policies.ahead;
    this.ctl = policies.controls;
    const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    this.intake = new Intake(core, this.admission, this.pipeline, options, maxQueue);
  }

  /** Runs every job from `source` to a final state. Never rejects for a job's failure. */
  async run(source: JobSpec[] | AsyncIterable<JobSpec>): Promise<RunOutcome> {
    const { lifecycle } = this;
    this.intake.begin(source);
    await lifecycle.over;
    this.alarm.clear();
    this.ctl.clear();
    const outcome = lifecycle.outcome(this.clock.now() - this.startedAt);
    this.options.emit('run_end', { runId: this.options.runId, ...outcome });
    return outcome;
  }

  /** `jobrun pause/scale/cancel/drain` steer it through these. */
  get controls(): RunControls {
    return this.ctl;
  }

  /** A stop signal; see `Controls.interrupt`. */
  interrupt(signal: StopSignal): void {
    this.ctl.interrupt(signal);
  }

  /** A stop for a reason of jobrun's own; see `Controls.abort`. */
  abort(reason: string): void {
    this.ctl.abort(reason);
  }

  pause(pool?: string): void {
    this.ctl.pause(pool);
  }

  unpause(pool?: string): void {
    this.ctl.unpause(pool);
  }

  scale(change: { workers?: number; pools?: Record<string, number> }): boolean {
    return this.ctl.scale(change);
  }

  steering(): ReturnType<Steering['state']> {
    return this.ctl.steering();
  }

  drain(): void {
    this.ctl.drain();
  }

  cancel(names: string[]): CancelOutcome {
    return this.ctl.cancel(names);
  }

  /**
   * What a stop now would stop (see `HandedOut`): the attempts handed to the executor and
   * not heard to end, and the longest kill grace among them and the jobs queued behind
   * them. A cache lookup has no attempt yet; a job still waiting in a remote queue is
   * withdrawn, not stopped.
   */
  handedOut(): HandedOut {
    const handed = [...this.inFlight].filter(
      (entry) => entry.running !== undefined && !this.dispatch.withdraws(entry),
    );
    let graceMs: number | undefined;
    for (const entry of [...handed, ...(this.ahead?.queued() ?? [])])
      graceMs = Math.max(graceMs ?? 0, entry.spec.killGraceMs);
    return graceMs === undefined ? { jobs: handed.length } : { jobs: handed.length, graceMs };
  }

  /** The state and moves the policies share; see `SchedulerCore`. */
  private core(): SchedulerCore {
    const { clock, dispatch, queues, needs, lifecycle, inFlight } = this;
    return {
      clock,
      emit: this.options.emit,
      dispatch,
      queues,
      needs,
      lifecycle,
      inFlight,
      end: (entry, record) => this.end(entry, record),
      pump: () => this.pump(),
      stop: (order) => this.stop(order),
      crash: (error) => this.crash(error),
      startRequest: (entry, now) => this.startRequest(entry, now),
    };
  }

  /** An exception in a promise callback: running jobs are killed and `run` rejects. */
  private crash(error: unknown): void {
    const stopping = this.lifecycle.stopping;
    if (!this.lifecycle.crash(error)) return;
    if (!stopping) this.dispatch.stopping?.(); // on a backend: none of the run's jobs starts
    this.ahead?.stop({ first: true, killRunning: true, immediate: true });
    for (const entry of this.inFlight) entry.running?.stop(true);
  }

  private enqueue(entry: Entry): void {
    this.pipeline.readInput(entry);
    entry.status = 'queued';
    this.queues.push(entry);
    this.ahead?.overtake(entry);
    const { name, priority, pool } = entry.spec;
    this.options.emit('job_queued', { id: entry.id, name, priority, pool });
  }

  /** Starts as many ready jobs as the dispatch's slots, pool limits and start gate allow. */
  private pump(): void {
    if (this.lifecycle.stopping || this.steer.holding) return;
    const now = this.clock.now();
    const limit = this.dispatch.limit(this.queues.size, this.inFlight.size, now);
    let gated = false;
    while (this.inFlight.size < limit && this.queues.size > 0) {
      const wait = this.dispatch.gateWait(now);
      gated = wait > 0;
      if (gated) {
        this.alarm.in(wait);
        break;
      }
      const entry = this.queues.take();
      if (!entry) break;
      this.start(entry, now);
    }
    // jobrun's output behind its reader: the jobs queued behind running ones come back,
    // or each would start as the job ahead of it ends
    if (this.ahead !== undefined && (gated || this.dispatch.gateWait(now) > 0)) {
      this.ahead.withdraw(() => true);
    } else if (this.inFlight.size >= limit) this.ahead?.fill();
    // a slot free that no ready job can take: one queued behind a running job may
    else this.ahead?.reclaim(limit - this.inFlight.size);
    this.intake.wake(); // what was taken made room
    const recheck = this.dispatch.recheckIn(now);
    if (recheck !== undefined) this.alarm.in(recheck);
  }

  private startRequest(entry: Entry, now: number): StartRequest {
    const attempt = entry.attempts.length + 1;
    return { attempt, timeoutMs: timeoutFor(entry.spec, this.medians), now };
  }

  private start(entry: Entry, now: number): void {
    entry.status = 'running';
    this.inFlight.add(entry);
    if (this.lookup.needed(entry)) return this.lookup.check(entry);
    this.launch(entry, now);
  }

  private launch(entry: Entry, now: number): void {
    this.dispatch.start(entry, this.startRequest(entry, now));
    this.watch(entry);
  }

  /** Waits for the end of `entry`'s attempt; once it started, something may queue behind it. */
  private watch(entry: Entry): void {
    entry.running?.result
      .then((result) => this.attemptEnded(entry, result))
      .catch((err: unknown) => this.crash(err));
    this.ahead?.started(entry);
  }

  private attemptEnded(entry: Entry, result: AttemptResult): void {
    this.inFlight.delete(entry);
    this.queues.release(entry);
    // the job queued behind this one started as it ended, in its slot
    if (this.ahead) this.ahead.handOver(entry);
    else this.dispatch.ended(entry, false);
    entry.running = undefined;
    // a Redis worker restored it from its own cache: it never ran, as a local hit
    if (this.lookup.restoredRemotely(entry, result)) return this.pump();
    if (result.unstarted) {
      // no worker started it, a stop withdrew it: no attempt, as a local job not started
      const reason = entry.cancelReason ?? this.lifecycle.reason;
      this.end(entry, attemptsRecord(entry, 'cancelled', this.clock.now(), reason));
      return this.pump();
    }
    entry.attempts.push(result);
    this.options.emit('attempt_end', { id: entry.id, name: entry.spec.name, result });
    // the job ends with its attempt, whose end a spawner may have reported late (held
    // back to share a write): dated back as the attempt is, never into the future
    const ended = result.startedAt + result.durationMs;
    const now = Number.isFinite(ended) ? Math.min(this.clock.now(), ended) : this.clock.now();
    const retryDue = () => {
      this.enqueue(entry);
      this.pump();
    };
    if (entry.killed && (result.stopped || !attemptSucceeded(result))) {
      // the run stopped it; one that had exited 0 before the stop reached it did
      // finish on its own, so it counts as succeeded below
      const reason = entry.cancelReason ?? this.lifecycle.reason;
      this.end(entry, attemptsRecord(entry, 'cancelled', now, reason));
    } else if (attemptSucceeded(result)) {
      this.medians.add(result.durationMs);
      this.lookup.succeeded(entry, attemptsRecord(entry, 'succeeded', now));
    } else if (this.lifecycle.stopping || !this.dispatch.retry(entry, retryDue)) {
      this.end(entry, attemptsRecord(entry, result.timedOut ? 'timed_out' : 'failed', now));
    }
    this.pump();
  }

  /** Moves a job to its final state, settles its dependants, and applies the halt policy. */
  private end(entry: Entry, ended: JobRecord): void {
    const record = this.pipeline.ending(entry, ended);
    entry.status = record.status;
    this.options.emit('job_end', { job: record });
    const { ready, blocked } = this.needs.settle(entry, record, this.lifecycle.reason);
    for (const dependent of ready) this.pipeline.ready(dependent);
    for (const [dependent, skip] of blocked) {
      // an earlier one's cascade may have ended it already
      if (dependent.status === 'pending') this.end(dependent, skip);
    }
    // counted after its dependants, so a halt cancels none of them that it skipped
    this.stop(this.lifecycle.ended(record));
    this.intake.wake();
  }

  /** Obeys a stop: the first cancels every job that has not started and reads no more input. */
  private stop(order: StopOrder | undefined): void {
    if (!order) return;
    if (order.first) {
      this.dispatch.stopping?.();
      const { reason } = this.lifecycle;
      const cancel = (entry: Entry) =>
        notStarted(entry) &&
        this.end(entry, attemptsRecord(entry, 'cancelled', this.clock.now(), reason));
      this.queues.drain().forEach(cancel);
      this.dispatch.cancelRetries().forEach(cancel);
      for (const entry of this.needs.entries()) cancel(entry);
      this.intake.stop();
    }
    // withdrawn before any running job is signalled: one may exit 0 on SIGTERM
    this.ahead?.stop(order);
    for (const entry of this.inFlight) {
      const drop = !order.killRunning && this.dispatch.withdraws(entry);
      if (drop && entry.running?.dropUnlessStarted !== undefined) {
        // not heard to start: its worker may have started it meanwhile, then it runs on
        entry.running.dropUnlessStarted();
      } else if (order.killRunning || drop) {
        entry.killed = true;
        entry.running?.stop(order.immediate);
      }
    }
  }
}
