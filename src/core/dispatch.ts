import type { Emit } from '../model/events.js';
import { jobVariables } from '../model/job-env.js';
import type { Backpressure, Executor } from '../exec/types.js';
import type { Entry } from './entry.js';
import type { StartGate } from './gates.js';
import { LocalDispatch, type LocalDispatchOptions } from './local-dispatch.js';
import { OutputHold } from './output-hold.js';
import { isRemote, type RemoteExecutor } from './remote.js';

/** What starting one attempt needs beyond the job itself. */
export interface StartRequest {
  attempt: number;
  timeoutMs: number | undefined;
  now: number;
}

/**
 * How attempts reach a process: how many may run, when the next may start, where it
 * runs and whether a failed one is tried again. The local dispatch runs attempts on
 * numbered slots within worker and pool limits and retries them itself; the remote
 * one hands each job to a backend that does all of that on its workers.
 */
export interface Dispatch {
  /** The worker count to announce at the start of the run (remote: the run's limit, 0 for none). */
  readonly workers: number;
  /** The jobs run on a backend's workers, whose own slots hold them. */
  readonly remote: boolean;
  /** How many jobs of `pool` may run at once. */
  poolLimit(pool: string): number;
  /** How many jobs may run at once now, with `ready` waiting; may resize a dynamic pool. */
  limit(ready: number, running: number, now: number): number;
  /** 0 when a job may start now, else milliseconds until the start gate opens. */
  gateWait(now: number): number;
  /** Milliseconds until the dispatch wants to be asked again (a due shrink), if ever. */
  recheckIn(now: number): number | undefined;
  /**
   * Starts the next attempt of `entry` and puts its handle on `entry.running` before
   * anything is emitted: a listener may stop the run from inside `job_start`.
   */
  start(entry: Entry, request: StartRequest): void;
  /** Can a next attempt wait behind a running one, to start the moment it ends (`startAfter`)? */
  readonly queuesAhead: boolean;
  /**
   * Queues the next attempt of `entry` to start as `running`'s ends, on its slot (see
   * `prefetch.ts`); false when it cannot wait there. Like `start`, it sets `entry.running`.
   */
  startAfter(entry: Entry, running: Entry, request: StartRequest): boolean;
  /** The attempt of `entry` ended: its slot is free, or `handedOn` to the job queued behind it. */
  ended(entry: Entry, handedOn?: boolean): void;
  /** Waits the backoff, then calls `due`. False when this dispatch does not retry. */
  retry(entry: Entry, due: () => void): boolean;
  /** Drops every pending retry; returns the jobs that were waiting for one. */
  cancelRetries(): Entry[];
  /** Drops the pending retries of the jobs `pick` chooses; returns those jobs. */
  dropRetries(pick: (entry: Entry) => boolean): Entry[];
  /** Whether worker count and pool limits may change live (`jobrun scale`). */
  readonly scalable: boolean;
  /** Sets the worker count live (`jobrun scale -j`), when `scalable`. */
  setWorkers(workers: number): void;
  /** On a stop that lets running jobs finish, must this one be stopped anyway? */
  withdraws(entry: Entry): boolean;
  /** The run is stopping (any reason): told once, before any job is stopped. */
  stopping?(): void;
}

/**
 * Jobs that wait untaken in the backend while their output comes back to this process:
 * few, as the workers start whatever waits there, held back or not (see `RemoteDispatch`).
 */
const OUTPUT_AHEAD = 16;

/**
 * The remote dispatch (Redis): ready jobs go to the backend as long as at most
 * `maxQueue` of them wait there untaken (backpressure across the wire: the rest wait
 * here, and a streamed input is read no further); workers and pool limits are the
 * workers' business, and the backend retries. The start gate still spaces the
 * hand-overs, and jobrun's output falling behind its reader holds them back
 * (`backpressure`); as the jobs' output comes back here then (`returnsOutput`), at
 * most `OUTPUT_AHEAD` wait in the backend, so few jobs start while the reader is stopped.
 */
export class RemoteDispatch implements Dispatch {
  readonly workers: number;
  readonly remote = true;
  readonly queuesAhead = false;
  /** Handed to the backend and not running on a worker: waiting in its queue. */
  private readonly waiting = new Set<Entry>();
  /** Hand-overs wait for jobrun's output to catch up with its reader. */
  private readonly output: OutputHold;

  constructor(
    private readonly executor: RemoteExecutor,
    private readonly emit: Emit,
    workers: number,
    private readonly maxQueue: number,
    /** A worker took a job: room for another hand-over. */
    private readonly onRoom: () => void,
    private readonly runId: string,
    private readonly gate?: StartGate,
    private readonly backpressure?: Backpressure,
  ) {
    this.workers = workers;
    this.output = new OutputHold(backpressure, onRoom);
  }

  poolLimit(): number {
    return Infinity;
  }

  /** Every job running remotely, plus at most `maxQueue` waiting in the backend's queue. */
  limit(_ready: number, running: number): number {
    return running - this.waiting.size + this.ahead;
  }

  /** How many may wait untaken in the backend: few while their output comes back here. */
  private get ahead(): number {
    const held = this.backpressure !== undefined && this.executor.returnsOutput === true;
    return held ? Math.min(this.maxQueue, OUTPUT_AHEAD) : this.maxQueue;
  }

  gateWait(now: number): number {
    const wait = this.gate?.check(now) ?? 0;
    return wait > 0 ? wait : this.output.wait();
  }

  recheckIn(): undefined {
    return undefined;
  }

  start(entry: Entry, { attempt, timeoutMs, now }: StartRequest): void {
    const { spec, id } = entry;
    const { emit } = this;
    this.gate?.started(now);
    // the worker adds what depends on where the attempt runs (attempt, slot, worker)
    const job = { ...spec, env: { ...spec.env, ...jobVariables(spec, this.runId) } };
    const request = { job, attempt, timeoutMs, logPath: '', worker: '' };
    this.waiting.add(entry);
    entry.running = this.executor.start(request, {
      started: (attempt, worker, pid) => {
        entry.remoteActive = true;
        emit('job_start', { id, name: spec.name, attempt, worker, pid });
        if (this.waiting.delete(entry)) this.onRoom();
      },
      attemptEnded: (result) => {
        entry.remoteActive = false;
        this.waiting.add(entry); // back in the queue, for its retry
        entry.attempts.push(result);
        emit('attempt_end', { id, name: spec.name, result });
      },
      retrying: (nextAttempt, delayMs) =>
        emit('job_retry', { id, name: spec.name, nextAttempt, delayMs }),
    });
  }

  startAfter(): boolean {
    return false;
  }

  ended(entry: Entry): void {
    this.waiting.delete(entry);
  }

  retry(): boolean {
    return false;
  }

  cancelRetries(): Entry[] {
    return [];
  }

  dropRetries(): Entry[] {
    return [];
  }

  /** Workers and pool limits are the workers' business on a remote backend. */
  readonly scalable = false;

  setWorkers(): void {}

  /** A job still waiting in the remote queue has not started: it is withdrawn too. */
  withdraws(entry: Entry): boolean {
    return !entry.remoteActive;
  }

  stopping(): void {
    this.executor.stopRun();
  }
}

/** The remote dispatch for a remote executor, else the local one. */
export function createDispatch(
  options: Omit<LocalDispatchOptions, 'executor'> & {
    executor: Executor | RemoteExecutor;
    maxQueue: number;
    onRoom: () => void;
  },
): Dispatch {
  const { executor, emit, workers, gate, runId, backpressure, onRoom } = options;
  return isRemote(executor)
    ? new RemoteDispatch(
        executor,
        emit,
        workers.min,
        options.maxQueue,
        onRoom,
        runId,
        gate,
        backpressure,
      )
    : new LocalDispatch({ ...options, executor });
}
