import { attemptSucceeded, type AttemptResult } from '../model/attempt.js';
import type { JobRecord } from '../model/events.js';
import type { JobSpec } from '../model/job.js';
import type { StopSignal } from '../model/stop.js';
import { Admission } from './admission.js';
import { Alarm } from './alarm.js';
import { systemClock, type Clock } from './clock.js';
import { createDispatch, type Dispatch, type StartRequest } from './dispatch.js';
import { notStarted, type Entry } from './entry.js';
import { Feeder } from './feeder.js';
import { Lifecycle, type StopOrder } from './lifecycle.js';
import { MedianTracker, timeoutFor } from './median.js';
import { Needs } from './needs.js';
import { Prefetch } from './prefetch.js';
import { ReadyQueues } from './ready-queues.js';
import { remoteHit, type CacheHit } from './cache-hook.js';
import { attemptsRecord, cachedRecord } from './records.js';
import { Results } from './results.js';
import { Stages } from './stages.js';
import type { RunOutcome, SchedulerOptions } from './scheduler-options.js';
import { cancelJobs } from './cancel.js';
import {
  CANCELLED_BY_USER,
  DRAINED,
  Steering,
  type CancelOutcome,
  type RunControls,
} from './steering.js';

export type { RunOutcome, SchedulerOptions };

/** Jobs that may wait to start (in memory, or in a remote queue) without `maxQueue`. */
const DEFAULT_MAX_QUEUE = 10_000;

/**
 * The heart of a run, as a state machine: a job enters (`Admission`), is pending until
 * its needs succeed (`Needs`), queued by priority until a slot and its pool have room,
 * running until its attempt ends (`Dispatch`), retrying after a backoff, and ends in
 * one final state, which may halt the run (`Lifecycle`). Every change of state is an
 * event; it writes nothing to the terminal.
 */
export class Scheduler implements RunControls {
  private readonly clock: Clock;
  private readonly dispatch: Dispatch;
  private readonly queues: ReadyQueues<Entry>;
  private readonly needs = new Needs();
  private readonly admission: Admission;
  private readonly lifecycle: Lifecycle;
  private readonly feeder: Feeder;
  private stages: Stages | undefined;
  private readonly results = new Results();
  private readonly alarm: Alarm;
  private readonly inFlight = new Set<Entry>();
  private readonly medians = new MedianTracker();
  private readonly prefetch: Prefetch | undefined;
  private readonly startedAt: number;
  private readonly steer = new Steering();
  private graceTimer: unknown;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
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
      linked: (entries) => this.stages?.adopt(entries),
    });
    this.feeder = new Feeder(options.maxQueue ?? DEFAULT_MAX_QUEUE, () => this.queues.size);
    this.alarm = new Alarm(this.clock, () => this.pump());
    this.startedAt = this.clock.now();
    // a job queued behind one whose success halts the run would start before the halt
    if (this.dispatch.queuesAhead && options.halt?.on !== 'success')
      this.prefetch = new Prefetch({
        take: (running) => this.queues.take(running),
        putBack: (entry) => {
          this.queues.release(entry);
          this.queues.push(entry);
        },
        startAfter: (entry, running) => this.queueBehind(entry, running),
        withdrawn: (entry, promoted) => this.withdrawn(entry, promoted),
        before: (a, b) => this.queues.before(a, b),
      });
  }

  /** Runs every job from `source` to a final state. Never rejects for a job's failure. */
  async run(source: JobSpec[] | AsyncIterable<JobSpec>): Promise<RunOutcome> {
    const { emit, runId, manifestPath, logDir } = this.options;
    const stages = Array.isArray(source) ? this.stagesOf(source) : undefined;
    if (Array.isArray(source)) this.watchInputs(source);
    const total = Array.isArray(source) && !stages ? source.length : null;
    emit('run_start', { runId, manifestPath, total, workers: this.dispatch.workers, logDir });
    const { lifecycle } = this;
    if (Array.isArray(source)) {
      this.admission.all(stages ? [...source, ...stages.specs()] : source, this.clock.now());
      lifecycle.inputEnded();
    } else {
      this.feeder
        .feed(source, (spec) => this.admission.one(spec, this.clock.now()))
        .catch((err: unknown) => this.stop(lifecycle.inputFailed(err)))
        .then(() => lifecycle.inputEnded())
        .catch((err: unknown) => this.crash(err));
    }
    await lifecycle.over;
    this.alarm.clear();
    if (this.graceTimer !== undefined) this.clock.clearTimeout(this.graceTimer);
    const outcome = lifecycle.outcome(this.clock.now() - this.startedAt);
    emit('run_end', { runId, ...outcome });
    return outcome;
  }

  /**
   * Stops the run: no more starts, waiting jobs are cancelled, running ones get
   * SIGTERM and SIGKILL after their grace. A second call skips the grace.
   */
  interrupt(signal: StopSignal): void {
    const graceMs = this.options.gracefulMs ?? 0;
    const order = this.lifecycle.interrupt(signal, graceMs > 0);
    if (!order.killRunning) this.waitForRunning(graceMs); // said before the cancelled jobs' lines
    this.stop(order);
  }

  /** Says the run waits for its running jobs; with `graceMs`, stops them after it. */
  private waitForRunning(graceMs?: number): void {
    if (this.inFlight.size === 0) return;
    const reason = this.lifecycle.reason ?? 'stopping';
    this.options.emit('run_stopping', { reason, running: this.inFlight.size, graceMs });
    if (graceMs === undefined) return;
    const kill = () => this.stop({ first: false, killRunning: true, immediate: false });
    this.graceTimer = this.clock.setTimeout(kill, graceMs);
  }

  /** `jobrun pause/scale/cancel/drain` steer it through these. */
  get controls(): RunControls {
    return this;
  }

  pause(pool?: string): void {
    this.steer.pause(pool);
    this.prefetch?.withdraw(() => true); // a job queued behind a running one would start
  }

  unpause(pool?: string): void {
    this.steer.unpause(pool);
    this.pump();
  }

  scale({ workers, pools }: { workers?: number; pools?: Record<string, number> }): boolean {
    if (!this.dispatch.scalable) return false;
    if (workers !== undefined) this.dispatch.setWorkers(workers);
    this.prefetch?.withdraw(() => true); // queued again within the new limits
    for (const [pool, limit] of Object.entries(pools ?? {})) this.steer.setPoolLimit(pool, limit);
    this.pump();
    return true;
  }

  steering(): ReturnType<Steering['state']> {
    return this.steer.state();
  }

  drain(): void {
    const order = this.lifecycle.drain(DRAINED);
    if (order.first) this.waitForRunning();
    this.stop(order);
  }

  /**
   * Cancels the jobs named so: waiting ones end `cancelled` now, running ones are
   * stopped (TERM, KILL after their grace) and end `cancelled`, never retried.
   */
  cancel(names: string[]): CancelOutcome {
    const now = this.clock.now();
    const outcome = cancelJobs(names, {
      waiting: [...this.needs.entries()].filter((entry) => entry.status === 'pending'),
      queues: this.queues,
      dispatch: this.dispatch,
      running: this.inFlight,
      queuedAhead: this.prefetch,
      end: (entry) => this.end(entry, attemptsRecord(entry, 'cancelled', now, CANCELLED_BY_USER)),
    });
    this.pump();
    return outcome;
  }

  /**
   * Stops the run as an interrupt does, for a reason of jobrun's own (a reporter
   * that failed): running jobs get SIGTERM, then SIGKILL after their grace.
   */
  abort(reason: string): void {
    this.stop(this.lifecycle.abort(reason));
  }

  /** The pipeline's stages, as pending entries among `jobs` (see `Stages`). */
  private stagesOf(jobs: JobSpec[]): Stages | undefined {
    const plan = this.options.stages;
    if (!plan?.stages.length) return undefined;
    this.stages = new Stages(
      plan,
      this.needs,
      {
        added: () => this.lifecycle.added(),
        withdrawn: () => this.lifecycle.withdrawn(),
        admit: (entry) => this.admission.expanded(entry, this.clock.now(), this.lifecycle.reason),
        end: (entry, record) => this.end(entry, record),
        ready: (entry) => this.ready(entry),
      },
      this.results,
      jobs,
    );
    return this.stages;
  }

  /** Keeps the results that `stdin: { from }` jobs (of the plan or of its stages) read. */
  private watchInputs(jobs: JobSpec[]): void {
    const readers = [...jobs, ...(this.options.stages?.stages.map((s) => s.settings) ?? [])];
    for (const job of readers) job.stdinFrom?.forEach((name) => this.results.watch(name));
  }

  /** A job whose needs all succeeded: queued, or expanded when it is a stage. */
  private ready(entry: Entry): void {
    if (this.stages?.isStage(entry)) this.stages.expand(entry, this.clock.now());
    else this.enqueue(entry);
  }

  /** An exception in a promise callback: running jobs are killed and `run` rejects. */
  private crash(error: unknown): void {
    if (!this.lifecycle.crash(error)) return;
    this.prefetch?.stop({ first: true, killRunning: true, immediate: true });
    for (const entry of this.inFlight) entry.running?.stop(true);
  }

  private enqueue(entry: Entry): void {
    const { stdinFrom } = entry.spec;
    if (stdinFrom && entry.spec.stdin === undefined) {
      const names = this.stages ? this.stages.resolve(stdinFrom) : stdinFrom;
      entry.spec = { ...entry.spec, stdin: this.results.input(names) };
    }
    entry.status = 'queued';
    this.queues.push(entry);
    this.prefetch?.overtake(entry);
    const { name, priority, pool } = entry.spec;
    this.options.emit('job_queued', { id: entry.id, name, priority, pool });
  }

  /** Starts as many ready jobs as the dispatch's slots, pool limits and start gate allow. */
  private pump(): void {
    if (this.lifecycle.stopping || this.steer.holding) return;
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
    if (this.inFlight.size >= limit) this.queueAhead();
    this.feeder.wake(); // what was taken made room
    const recheck = this.dispatch.recheckIn(now);
    if (recheck !== undefined) this.alarm.in(recheck);
  }

  /** Every slot busy: ready jobs wait in the spawners, behind the running ones. */
  private queueAhead(): void {
    if (this.prefetch === undefined || this.queues.size === 0 || this.lifecycle.stopping) return;
    // paused, or scaled below the jobs running: nothing may wait to take over a slot
    if (this.steer.holding || this.inFlight.size > this.dispatch.workers) return;
    this.prefetch.fill(this.inFlight);
  }

  /** A queued job is no longer a ready one: a stop withdraws it rather than cancel it. */
  private queueBehind(entry: Entry, running: Entry): boolean {
    // a job not yet looked up in the cache may not need to run at all
    if (this.needsLookup(entry)) return false;
    const request = this.startRequest(entry, this.clock.now());
    if (!this.dispatch.startAfter(entry, running, request)) return false;
    entry.status = 'running';
    return true;
  }

  private startRequest(entry: Entry, now: number): StartRequest {
    const attempt = entry.attempts.length + 1;
    return { attempt, timeoutMs: timeoutFor(entry.spec, this.medians), now };
  }

  private start(entry: Entry, now: number): void {
    entry.status = 'running';
    this.inFlight.add(entry);
    if (this.needsLookup(entry)) {
      this.options.cache
        ?.check(entry.spec)
        .then((hit) => this.checked(entry, hit))
        .catch((err: unknown) => this.crash(err));
      return;
    }
    this.launch(entry, now);
  }

  /** A job with `cache` is looked up before its first attempt (`CacheHook`). */
  private needsLookup(entry: Entry): boolean {
    return !!this.options.cache && !!entry.spec.cache && entry.attempts.length === 0;
  }

  /** A cached job was looked up: a hit ends it `cached`, a miss runs it. */
  private checked(entry: Entry, hit: CacheHit | undefined): void {
    const now = this.clock.now();
    if (!hit && !this.lifecycle.stopping) return this.launch(entry, now);
    this.inFlight.delete(entry);
    this.queues.release(entry);
    this.end(
      entry,
      hit
        ? cachedRecord(entry, hit, now)
        : attemptsRecord(entry, 'cancelled', now, this.lifecycle.reason),
    );
    this.pump();
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
    if (this.prefetch !== undefined) void entry.running?.started?.then(() => this.queueAhead());
  }

  /** A queued job never started: back to the ready queue, or cancelled in a stop. */
  private withdrawn(entry: Entry, promoted: boolean): void {
    if (promoted) {
      this.inFlight.delete(entry);
      this.dispatch.ended(entry);
    }
    entry.slot = undefined;
    entry.running = undefined;
    this.queues.release(entry);
    if (this.lifecycle.stopping || entry.cancelReason !== undefined) {
      const reason = entry.cancelReason ?? this.lifecycle.reason;
      this.end(entry, attemptsRecord(entry, 'cancelled', this.clock.now(), reason));
    } else {
      entry.status = 'queued';
      this.queues.push(entry);
    }
    this.pump();
  }

  private attemptEnded(entry: Entry, result: AttemptResult): void {
    this.inFlight.delete(entry);
    this.queues.release(entry);
    // the job queued behind this one started as it ended, in its slot
    const next = this.prefetch?.next(entry);
    this.dispatch.ended(entry, next !== undefined);
    if (next !== undefined) {
      this.inFlight.add(next);
      this.watch(next);
      // cancelled while queued, its start crossed the withdrawal: stopped as a running one
      if (next.cancelReason !== undefined) {
        next.killed = true;
        next.running?.stop(false);
      }
    }
    entry.running = undefined;
    // a Redis worker restored it from its cache: it never ran, as a local hit
    const hit = remoteHit(result);
    const now = this.clock.now();
    if (hit) {
      this.end(entry, cachedRecord(entry, hit, now));
      return this.pump();
    }
    entry.attempts.push(result);
    this.options.emit('attempt_end', { id: entry.id, name: entry.spec.name, result });
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
      const record = attemptsRecord(entry, 'succeeded', now);
      if (entry.spec.cache) this.options.cache?.succeeded(entry.spec, record);
      this.end(entry, record);
    } else if (this.lifecycle.stopping || !this.dispatch.retry(entry, retryDue)) {
      this.end(entry, attemptsRecord(entry, result.timedOut ? 'timed_out' : 'failed', now));
    }
    this.pump();
  }

  /** Moves a job to its final state, settles its dependants, and applies the halt policy. */
  private end(entry: Entry, ended: JobRecord): void {
    const record = this.stages ? this.stages.ending(entry, ended) : ended;
    this.results.ended(record);
    entry.status = record.status;
    this.options.emit('job_end', { job: record });
    const { ready, blocked } = this.needs.settle(entry, record, this.lifecycle.reason);
    for (const dependent of ready) this.ready(dependent);
    for (const [dependent, skip] of blocked) {
      // an earlier one's cascade may have ended it already
      if (dependent.status === 'pending') this.end(dependent, skip);
    }
    // counted after its dependants, so a halt cancels none of them that it skipped
    this.stop(this.lifecycle.ended(record));
    this.feeder.wake();
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
      this.feeder.stop();
    }
    // withdrawn before any running job is signalled: one may exit 0 on SIGTERM
    this.prefetch?.stop(order);
    for (const entry of this.inFlight) {
      if (order.killRunning || this.dispatch.withdraws(entry)) {
        entry.killed = true;
        entry.running?.stop(order.immediate);
      }
    }
  }
}
