import { attemptSucceeded, type AttemptResult } from '../model/attempt.js';
import { systemClock, type Clock } from './clock.js';
import {
  countsAsFailure,
  describe,
  emptySummary,
  unranRecord,
  type Emit,
  type JobRecord,
  type Summary,
} from '../model/events.js';
import { backoffDelay } from './backoff.js';
import { shouldHalt, type HaltPolicy } from './halt.js';
import { logPathFor } from './log-path.js';
import { MedianTracker } from './median.js';
import { ReadyQueues } from './ready-queues.js';
import { WorkerScaler } from './scaling.js';
import type { StartGate } from './gates.js';
import type { FinalStatus, JobSpec, JobStatus, PoolSpec, WorkersSpec } from '../model/job.js';
import type { Executor, RunningAttempt } from '../exec/types.js';
import { isRemote, type RemoteExecutor } from './remote.js';
import { STOP_EXIT_CODES, type StopSignal } from '../model/stop.js';

export interface SchedulerOptions {
  runId: string;
  manifestPath: string | null;
  /** Folder for the attempts' log files; the caller creates it. */
  logDir: string;
  workers: WorkersSpec;
  pools: Record<string, PoolSpec>;
  order: 'fifo' | 'lifo';
  /**
   * Runs attempts. A `RemoteExecutor` (the Redis coordinator's) runs every attempt of
   * a job itself: then nothing limits dispatch here and the scheduler does not retry.
   */
  executor: Executor | RemoteExecutor;
  emit: Emit;
  clock?: Clock;
  halt?: HaltPolicy;
  gate?: StartGate;
  /** Jobs already done in an earlier run (the journal): they end succeeded without running. */
  alreadyDone?: (job: JobSpec) => boolean;
  /** Names picked by `--only` (with their needs); every other job is skipped. */
  selected?: (job: JobSpec) => boolean;
  /** Pipe job output through the runner and emit `job_output` events. */
  captureOutput?: boolean;
  /** For streamed input: at most this many jobs wait in memory; reading pauses meanwhile. */
  maxQueue?: number;
  /** Randomness for backoff jitter, injectable for tests. */
  random?: () => number;
  /** How long slots of a dynamic pool sit idle before it shrinks. */
  idleMs?: number;
  /** Called as a local attempt's process starts (the journal records its group). */
  onAttemptStart?: (job: JobSpec, pid: number | undefined) => void;
}

export interface RunOutcome {
  summary: Summary;
  exitCode: number;
  durationMs: number;
  interrupted?: StopSignal;
  halted?: string;
  /** Why the job source failed (a read error, an over-long line): the run stopped, exit 2. */
  inputError?: string;
}

interface Entry {
  spec: JobSpec;
  status: JobStatus;
  attempts: AttemptResult[];
  /** Needs not yet succeeded. */
  waiting: number;
  dependents: Entry[];
  running?: RunningAttempt;
  slot?: number;
  timer?: unknown;
  /** Set when the run stopped this job's attempt; its outcome is then `cancelled`. */
  killed?: boolean;
  /** Remote only: an attempt is running on a worker (not waiting in the queue). */
  remoteActive?: boolean;
}

/**
 * The heart of a local run: takes jobs, orders them by priority, starts them on
 * free worker slots within pool limits, retries with backoff, releases dependants,
 * applies halt policies, and emits an event for every change of state. It writes
 * nothing to the terminal; reporters listen to the events.
 */
export class Scheduler {
  private readonly clock: Clock;
  private readonly queues: ReadyQueues<Entry>;
  private readonly byName = new Map<string, Entry>();
  private readonly slots: boolean[] = [];
  private readonly inFlight = new Set<Entry>();
  private readonly retrying = new Set<Entry>();
  private readonly scaler: WorkerScaler;
  private readonly medians = new MedianTracker();
  private readonly summary = emptySummary();
  private readonly startedAt: number;
  private running = 0;
  private unfinished = 0;
  private failures = 0;
  private countedFailures = 0;
  private inputDone = false;
  private stopping = false;
  private stopReason = '';
  private interrupted: StopSignal | undefined;
  private inputError: string | undefined;
  private crashed: { error: unknown } | undefined;
  private halted: string | undefined;
  private pumpTimer: unknown;
  private wakeFeeder: (() => void) | undefined;
  private finish: (() => void) | undefined;
  private readonly remote: boolean;

  constructor(private readonly options: SchedulerOptions) {
    this.clock = options.clock ?? systemClock;
    this.remote = isRemote(options.executor);
    this.scaler = new WorkerScaler(options.workers, options.idleMs);
    // pool limits are the workers' business on a remote backend
    this.queues = new ReadyQueues<Entry>(options.order, (pool) =>
      this.remote || pool === '' ? Infinity : (options.pools[pool]?.workers ?? Infinity),
    );
    this.startedAt = this.clock.now();
  }

  /** Runs every job from `source` to a final state. Never rejects for a job's failure. */
  async run(source: JobSpec[] | AsyncIterable<JobSpec>): Promise<RunOutcome> {
    const { emit } = this.options;
    emit('run_start', {
      runId: this.options.runId,
      manifestPath: this.options.manifestPath,
      total: Array.isArray(source) ? source.length : null,
      workers: this.scaler.workers,
      logDir: this.options.logDir,
    });
    const done = new Promise<void>((resolve) => (this.finish = resolve));
    if (Array.isArray(source)) {
      this.addAll(source);
      this.inputDone = true;
      this.pump();
    } else {
      void this.feed(source);
    }
    this.checkDone();
    await done;
    if (this.crashed) throw this.crashed.error;
    const exitCode = this.interrupted
      ? STOP_EXIT_CODES[this.interrupted]
      : this.inputError !== undefined
        ? 2
        : this.failures > 0
          ? 1
          : 0;
    const outcome: RunOutcome = {
      summary: { ...this.summary },
      exitCode,
      durationMs: this.clock.now() - this.startedAt,
      interrupted: this.interrupted,
      halted: this.halted,
      ...(this.inputError === undefined ? {} : { inputError: this.inputError }),
    };
    emit('run_end', { runId: this.options.runId, ...outcome });
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

  private addAll(specs: JobSpec[]): void {
    const entries = specs.map((spec) => this.register(spec, true));
    for (const entry of entries) {
      for (const need of entry.spec.needs) {
        const dep = this.byName.get(need);
        if (!dep) throw new Error(`job "${entry.spec.name}" needs unknown job "${need}"`);
        dep.dependents.push(entry);
        entry.waiting++;
      }
    }
    for (const entry of entries) {
      if (entry.status === 'pending' && this.options.selected?.(entry.spec) === false) {
        const record = unranRecord(
          entry.spec,
          'skipped',
          'not selected by --only',
          this.clock.now(),
        );
        this.end(entry, { ...record, excluded: true });
      }
    }
    for (const entry of entries) {
      if (entry.status === 'pending' && this.options.alreadyDone?.(entry.spec)) this.resumed(entry);
    }
    for (const entry of entries) {
      if (entry.status === 'pending' && entry.waiting === 0) this.enqueue(entry);
    }
  }

  /**
   * Reads a streamed source to its end. A source that fails (a read error, a line over
   * the cap) stops the run with its message; one closed because the run stopped is fine.
   */
  private async feed(source: AsyncIterable<JobSpec>): Promise<void> {
    try {
      await this.pull(source);
    } catch (err) {
      if (!this.stopping) {
        this.inputError = (err as Error)?.message ?? String(err);
        this.halted = `an input error: ${this.inputError}`;
        this.stop(`stopped by an input error`, false);
      }
    }
    this.inputDone = true;
    this.checkDone();
  }

  /** Pulls streamed jobs only while fewer than `maxQueue` wait: the backpressure. */
  private async pull(source: AsyncIterable<JobSpec>): Promise<void> {
    const maxQueue = this.options.maxQueue ?? 10_000;
    for await (const spec of source) {
      if (this.stopping) break;
      const entry = this.register(spec);
      if (this.options.alreadyDone?.(spec)) {
        this.resumed(entry);
      } else {
        this.enqueue(entry);
        this.pump();
      }
      while (this.queues.size >= maxQueue && !this.stopping) {
        await new Promise<void>((resolve) => (this.wakeFeeder = resolve));
      }
    }
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

  /** Streamed jobs are not kept by name: they cannot be needed, and memory must stay flat. */
  private register(spec: JobSpec, named = false): Entry {
    const entry: Entry = { spec, status: 'pending', attempts: [], waiting: 0, dependents: [] };
    if (named) this.byName.set(spec.name, entry);
    this.unfinished++;
    this.summary.total++;
    return entry;
  }

  private enqueue(entry: Entry): void {
    entry.status = 'queued';
    this.queues.push(entry);
    this.options.emit('job_queued', {
      name: entry.spec.name,
      priority: entry.spec.priority,
      pool: entry.spec.pool,
    });
  }

  /** Starts as many ready jobs as free slots, pool limits and start gates allow. */
  private pump(): void {
    if (this.stopping) return;
    const now = this.clock.now();
    const workers = this.remote
      ? undefined
      : this.scaler.update(this.queues.size, this.running, now);
    if (workers !== undefined) this.options.emit('workers_change', { workers });
    const limit = this.remote ? Infinity : this.scaler.workers;
    while (this.running < limit && this.queues.size > 0) {
      const wait = this.options.gate?.check(now) ?? 0;
      if (wait > 0) {
        this.schedulePump(wait);
        break;
      }
      const entry = this.queues.take();
      if (!entry) break;
      this.options.gate?.started(now);
      this.start(entry);
    }
    const shrinkIn = this.scaler.shrinkDueIn(now);
    if (shrinkIn !== undefined) this.schedulePump(shrinkIn + 1);
  }

  private schedulePump(ms: number): void {
    if (this.pumpTimer !== undefined) return;
    this.pumpTimer = this.clock.setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  private start(entry: Entry): void {
    if (this.remote) return this.startRemote(entry);
    const { spec } = entry;
    const attempt = entry.attempts.length + 1;
    let slot = this.slots.indexOf(false);
    if (slot === -1) slot = this.slots.push(true) - 1;
    this.slots[slot] = true;
    entry.slot = slot;
    entry.status = 'running';
    this.running++;
    this.inFlight.add(entry);
    const { emit } = this.options;
    const worker = String(slot + 1);
    const handle = (this.options.executor as Executor).start({
      job: spec,
      attempt,
      timeoutMs: this.timeoutFor(spec),
      logPath: logPathFor(this.options.logDir, spec.name, spec.index, attempt),
      worker,
      onLine: this.options.captureOutput
        ? (stream, line) => emit('job_output', { name: spec.name, stream, line })
        : undefined,
    });
    entry.running = handle;
    this.options.onAttemptStart?.(spec, handle.pid);
    emit('job_start', { name: spec.name, attempt, worker, pid: handle.pid });
    handle.result
      .then((result) => this.attemptEnded(entry, result))
      .catch((err: unknown) => this.crash(err));
  }

  /** Hands the job to the remote executor, which reports each attempt as it happens. */
  private startRemote(entry: Entry): void {
    const { spec } = entry;
    const { emit, executor } = this.options;
    entry.status = 'running';
    this.running++;
    this.inFlight.add(entry);
    const request = {
      job: spec,
      attempt: entry.attempts.length + 1,
      timeoutMs: this.timeoutFor(spec),
      logPath: '',
      worker: '',
    };
    const handle = (executor as RemoteExecutor).start(request, {
      started: (attempt, worker, pid) => {
        entry.remoteActive = true;
        emit('job_start', { name: spec.name, attempt, worker, pid });
      },
      attemptEnded: (result) => {
        entry.remoteActive = false;
        entry.attempts.push(result);
        emit('attempt_end', { name: spec.name, result });
      },
      retrying: (nextAttempt, delayMs) =>
        emit('job_retry', { name: spec.name, nextAttempt, delayMs }),
    });
    entry.running = handle;
    handle.result
      .then((result) => this.attemptEnded(entry, result))
      .catch((err: unknown) => this.crash(err));
  }

  private timeoutFor(spec: JobSpec): number | undefined {
    if (!spec.timeout) return undefined;
    if ('ms' in spec.timeout) return spec.timeout.ms;
    const median = this.medians.median();
    return median === undefined ? undefined : Math.ceil((median * spec.timeout.percent) / 100);
  }

  private attemptEnded(entry: Entry, result: AttemptResult): void {
    this.running--;
    this.queues.release(entry);
    if (entry.slot !== undefined) this.slots[entry.slot] = false;
    this.inFlight.delete(entry);
    entry.running = undefined;
    entry.attempts.push(result);
    this.options.emit('attempt_end', { name: entry.spec.name, result });
    if (entry.killed && (result.stopped || !attemptSucceeded(result))) {
      // the run stopped it; one that had exited 0 before the stop reached it did
      // finish on its own, so it counts as succeeded below
      this.end(entry, this.record(entry, 'cancelled', this.stopReason));
    } else if (attemptSucceeded(result)) {
      this.medians.add(result.durationMs);
      this.end(entry, this.record(entry, 'succeeded'));
    } else if (!this.remote && entry.attempts.length <= entry.spec.retries && !this.stopping) {
      this.scheduleRetry(entry);
    } else {
      this.end(entry, this.record(entry, result.timedOut ? 'timed_out' : 'failed'));
    }
    this.pump();
    this.checkDone();
  }

  private scheduleRetry(entry: Entry): void {
    const nextAttempt = entry.attempts.length + 1;
    const delayMs = backoffDelay(entry.spec.backoff, nextAttempt, this.options.random);
    entry.status = 'retrying';
    this.retrying.add(entry);
    this.options.emit('job_retry', { name: entry.spec.name, nextAttempt, delayMs });
    entry.timer = this.clock.setTimeout(() => {
      entry.timer = undefined;
      this.retrying.delete(entry);
      this.enqueue(entry);
      this.pump();
    }, delayMs);
  }

  private record(entry: Entry, status: FinalStatus, reason?: string): JobRecord {
    const first = entry.attempts[0];
    const last = entry.attempts.at(-1);
    return {
      ...describe(entry.spec),
      status,
      reason,
      exitCode: last?.exitCode,
      signal: last?.signal,
      attempts: entry.attempts,
      worker: last?.worker,
      logPath: last?.logPath,
      outputTail: status === 'succeeded' ? undefined : last?.outputTail,
      startedAt: first?.startedAt,
      endedAt: this.clock.now(),
    };
  }

  private resumed(entry: Entry): void {
    const record = { ...describe(entry.spec), attempts: [], endedAt: this.clock.now() };
    this.end(entry, { ...record, status: 'succeeded', reason: 'succeeded in an earlier run' });
  }

  /** Moves a job to its final state, then releases or skips its dependants. */
  private end(entry: Entry, record: JobRecord): void {
    entry.status = record.status;
    this.summary[record.status]++;
    this.unfinished--;
    if (countsAsFailure(record)) this.failures++;
    this.options.emit('job_end', { job: record });
    const failedForGood = record.status === 'failed' || record.status === 'timed_out';
    for (const dependent of entry.dependents) {
      if (dependent.status !== 'pending') continue;
      if (record.status === 'succeeded') {
        if (--dependent.waiting === 0) this.enqueue(dependent);
        continue;
      }
      const verb = record.status === 'timed_out' ? 'timed out' : record.status;
      const status = this.stopping ? 'cancelled' : 'skipped';
      const reason = this.stopping ? this.stopReason : `need "${record.name}" ${verb}`;
      const skip = unranRecord(dependent.spec, status, reason, record.endedAt);
      this.end(dependent, record.excluded ? { ...skip, excluded: true } : skip);
    }
    entry.dependents = [];
    const halt = this.options.halt;
    if (halt && !this.stopping && !record.excluded && record.reason === undefined) {
      const counts = {
        failures: this.countedFailures + (failedForGood && !record.allowFailure ? 1 : 0),
        successes: this.summary.succeeded,
        ended: this.summary.total - this.unfinished,
        total: this.inputDone ? this.summary.total : null,
      };
      this.countedFailures = counts.failures;
      if (shouldHalt(halt, counts)) {
        this.halted = `--halt ${halt.text}`;
        this.stop(`halted by ${this.halted}`, false, halt.when === 'now');
      }
    }
    if (this.wakeFeeder && this.queues.size < (this.options.maxQueue ?? 10_000)) {
      const wake = this.wakeFeeder;
      this.wakeFeeder = undefined;
      wake();
    }
  }

  /** Stops dispatch and cancels every job that has not started. */
  private stop(reason: string, immediate: boolean, killRunning = true): void {
    if (!this.stopping) {
      this.stopping = true;
      this.stopReason = reason;
      const cancel = (entry: Entry) => {
        if (
          entry.status === 'pending' ||
          entry.status === 'queued' ||
          entry.status === 'retrying'
        ) {
          this.end(entry, this.record(entry, 'cancelled', reason));
        }
      };
      this.queues.drain().forEach(cancel);
      for (const entry of this.retrying) {
        this.clock.clearTimeout(entry.timer);
        cancel(entry);
      }
      this.retrying.clear();
      for (const entry of this.byName.values()) cancel(entry);
      this.inputDone = true;
      this.wakeFeeder?.();
    }
    for (const entry of this.inFlight) {
      // a remote job still waiting in the queue has not started: it is withdrawn too
      if (killRunning || (this.remote && !entry.remoteActive)) {
        entry.killed = true;
        entry.running?.stop(immediate);
      }
    }
    this.checkDone();
  }

  private checkDone(): void {
    if (!this.inputDone || this.unfinished > 0 || !this.finish) return;
    if (this.pumpTimer !== undefined) this.clock.clearTimeout(this.pumpTimer);
    const finish = this.finish;
    this.finish = undefined;
    finish();
  }
}
