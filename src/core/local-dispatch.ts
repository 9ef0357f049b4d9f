import type { Emit } from '../model/events.js';
import type { JobSpec, PoolSpec, WorkersSpec } from '../model/job.js';
import type { Backpressure, ExecRequest, Executor, RunningAttempt } from '../exec/types.js';
import { trackGroup, untrackGroup } from '../exec/kill.js';
import { backoffDelay } from './backoff.js';
import type { Clock } from './clock.js';
import type { Dispatch, StartRequest } from './dispatch.js';
import type { Entry } from './entry.js';
import type { StartGate } from './gates.js';
import { OutputHold } from './output-hold.js';
import { attemptVariables, jobVariables } from '../model/job-env.js';
import { logPathFor, streamPathsFor } from './log-path.js';
import { WorkerScaler } from './scaling.js';
import { Slots } from './slots.js';
import { worthRetrying } from '../model/attempt.js';

export interface LocalDispatchOptions {
  /** The run's id, for the job's `JOBRUN_RUN_ID`. */
  runId: string;
  executor: Executor;
  emit: Emit;
  clock: Clock;
  workers: WorkersSpec;
  pools: Record<string, PoolSpec>;
  logDir: string;
  gate?: StartGate;
  /**
   * jobrun's output falling behind its reader: no job starts meanwhile, and lines piped
   * through the runner wait in the jobs' pipes (see `Backpressure`).
   */
  backpressure?: Backpressure;
  /** Called when a start held back (by `backpressure`) may go ahead. */
  onRoom?: () => void;
  /** Pipe job output through the runner and emit `job_output` events. */
  captureOutput?: boolean;
  /** Keep each attempt's stdout and stderr in files of their own too. */
  separateStreams?: boolean;
  /** Randomness for backoff jitter, injectable for tests. */
  random?: () => number;
  /** How long slots of a dynamic pool sit idle before it shrinks. */
  idleMs?: number;
  /**
   * Told each attempt's process group the moment the executor learns it, before its
   * `job_start` (the journal records it); once, with no pid, for an attempt that failed
   * to start.
   */
  onAttemptStart?: (job: JobSpec, pid: number | undefined, start: number | undefined) => void;
  /** Told each spawner process as it is made, before any job is sent to it (the journal records it). */
  onSpawner?: ExecRequest['onSpawner'];
}

/**
 * Runs attempts as child processes of this one: on numbered slots, within the worker
 * count (which a dynamic pool grows and shrinks) and each pool's limit, spaced by the
 * start gate; a failed attempt is tried again after its backoff.
 */
export class LocalDispatch implements Dispatch {
  /** Not with a start gate (it spaces starts) nor a worker count that scales. */
  readonly queuesAhead: boolean;
  readonly remote = false;
  private readonly scaler: WorkerScaler;
  private readonly slots = new Slots();
  private readonly timers = new Map<Entry, unknown>();
  /** Starts wait for jobrun's output to catch up with its reader (`backpressure`). */
  private readonly output: OutputHold;

  constructor(private readonly options: LocalDispatchOptions) {
    this.scaler = new WorkerScaler(options.workers, options.idleMs);
    this.output = new OutputHold(options.backpressure, options.onRoom);
    const { executor, gate, workers } = options;
    this.queuesAhead =
      executor.startAfter !== undefined && gate === undefined && workers.min === workers.max;
  }

  get workers(): number {
    return this.scaler.workers;
  }

  poolLimit(pool: string): number {
    // one machine is one worker: a per-worker cap holds here as well
    const spec = pool === '' ? undefined : this.options.pools[pool];
    return Math.min(spec?.workers ?? Infinity, spec?.perWorker ?? Infinity);
  }

  limit(ready: number, running: number, now: number): number {
    const workers = this.scaler.update(ready, running, now);
    if (workers !== undefined) this.options.emit('workers_change', { workers });
    return this.scaler.workers;
  }

  gateWait(now: number): number {
    const wait = this.options.gate?.check(now) ?? 0;
    return wait > 0 ? wait : this.output.wait();
  }

  recheckIn(now: number): number | undefined {
    const shrinkIn = this.scaler.shrinkDueIn(now);
    return shrinkIn === undefined ? undefined : shrinkIn + 1;
  }

  start(entry: Entry, { attempt, timeoutMs, now }: StartRequest): void {
    this.options.gate?.started(now);
    const slot = this.slots.take();
    entry.slot = slot;
    const handle = this.options.executor.start(this.request(entry, attempt, timeoutMs, slot));
    this.running(entry, handle, attempt);
  }

  startAfter(entry: Entry, running: Entry, { attempt, timeoutMs }: StartRequest): boolean {
    const { slot } = running;
    const ahead = running.running;
    if (!this.queuesAhead || slot === undefined || ahead === undefined) return false;
    const request = this.request(entry, attempt, timeoutMs, slot);
    const handle = this.options.executor.startAfter?.(request, ahead);
    if (handle === undefined) return false;
    entry.slot = slot;
    this.running(entry, handle, attempt);
    return true;
  }

  ended(entry: Entry, handedOn = false): void {
    untrackGroup(entry.running?.pid);
    if (entry.slot !== undefined && !handedOn) this.slots.release(entry.slot);
    entry.slot = undefined;
  }

  private request(
    entry: Entry,
    attempt: number,
    timeoutMs: number | undefined,
    slot: number,
  ): ExecRequest {
    const { spec, id } = entry;
    const { options } = this;
    const { emit } = options;
    const logPath = logPathFor(options.logDir, spec.name, spec.index, attempt);
    const env = {
      ...spec.env,
      ...jobVariables(spec, options.runId),
      ...attemptVariables(attempt, slot + 1),
    };
    return {
      job: { ...spec, env },
      attempt,
      timeoutMs,
      logPath,
      separate: options.separateStreams ? streamPathsFor(logPath) : undefined,
      worker: String(slot + 1),
      onLine: options.captureOutput
        ? (stream, line) => emit('job_output', { id, name: spec.name, stream, line })
        : undefined,
      backpressure: options.captureOutput ? options.backpressure : undefined,
      onStart:
        options.onAttemptStart && ((pid, start) => options.onAttemptStart?.(spec, pid, start)),
      onSpawner: options.onSpawner,
    };
  }

  /** `handle` is `entry`'s attempt: `job_start` once its process is known. */
  private running(entry: Entry, handle: RunningAttempt, attempt: number): void {
    const { spec, id } = entry;
    const { options } = this;
    entry.running = handle;
    const worker = String((entry.slot ?? 0) + 1);
    const announce = () => {
      trackGroup(handle.pid); // so an unplanned exit of jobrun can take the group along
      // a pid was told as it was learnt (`onStart`); a start that failed has none
      if (handle.pid === undefined) options.onAttemptStart?.(spec, undefined, undefined);
      options.emit('job_start', { id, name: spec.name, attempt, worker, pid: handle.pid });
    };
    // a spawner process reports the pid a moment later; `started` settles before `result`
    if (handle.started === undefined) announce();
    else void handle.started.then(announce);
  }

  retry(entry: Entry, due: () => void): boolean {
    if (entry.attempts.length > entry.spec.retries) return false;
    const last = entry.attempts.at(-1);
    if (last && !worthRetrying(last)) return false;
    const nextAttempt = entry.attempts.length + 1;
    const delayMs = backoffDelay(entry.spec.backoff, nextAttempt, this.options.random);
    entry.status = 'retrying';
    this.options.emit('job_retry', { id: entry.id, name: entry.spec.name, nextAttempt, delayMs });
    const timer = this.options.clock.setTimeout(() => {
      this.timers.delete(entry);
      due();
    }, delayMs);
    this.timers.set(entry, timer);
    return true;
  }

  cancelRetries(): Entry[] {
    return this.dropRetries(() => true);
  }

  dropRetries(pick: (entry: Entry) => boolean): Entry[] {
    const dropped = [...this.timers.keys()].filter(pick);
    for (const entry of dropped) {
      this.options.clock.clearTimeout(this.timers.get(entry));
      this.timers.delete(entry);
    }
    return dropped;
  }

  readonly scalable = true;

  setWorkers(workers: number): void {
    if (this.scaler.fix(workers)) this.options.emit('workers_change', { workers });
  }

  withdraws(): boolean {
    return false;
  }
}
