import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { AttemptHooks, RemoteExecutor } from '../core/remote.js';
import type { Backpressure, ExecRequest, RunningAttempt } from '../exec/types.js';
import type { RunEventMap } from '../model/events.js';
import { jobId, type JobSpec, type PoolSpec } from '../model/job.js';
import { RemoteAttempt, type AttemptOwner } from './redis-attempt.js';
import { bullConnection, describe } from './redis-connect.js';
import { withTimeout } from './redis-health.js';
import {
  KEEP_FINISHED_S,
  POOLS_KEY,
  PREFIX,
  bullPriority,
  jobIdFor,
  queueName,
} from './redis-names.js';
import { OutputReader } from './redis-output.js';
import type { RedisTarget } from './redis-url.js';
import { toPayload, type OutputReturn } from './payload.js';
import type { RemoteCache } from './redis-cache.js';
import { RunStop } from './redis-stop.js';
import type { StreamFiles } from './redis-stream-files.js';

/** Events kept per queue stream; enough that a busy run never trims what we still read. */
const EVENTS_MAX_LEN = 100_000;

/** How long reading back a resumed job's end may take before its key is given up. */
const READ_BACK_MS = 10_000;

/** How long closing a connection may take before it is dropped (Redis may be dead). */
export const CLOSE_WAIT_MS = 2000;

type Emit = <K extends keyof RunEventMap>(type: K, payload: RunEventMap[K]) => void;

interface Lane {
  queue: Queue;
  events: QueueEvents;
  ready: Promise<void>;
}

/**
 * The remote executor: one BullMQ queue per pool, and one QueueEvents per queue whose
 * events fan out to the waiting attempts by job id (two connections per pool, however
 * many jobs). Job ids are deterministic, so adding twice is a no-op.
 */
export class BullExecutor implements RemoteExecutor, AttemptOwner {
  readonly remote = true;
  readonly waiters = new Map<string, RemoteAttempt>();
  private readonly lanes = new Map<string, Lane>();
  private readonly baseDir = process.cwd();
  /** Set when the run cannot go on (Redis gone, or lost the run's state). */
  private dead: string | undefined;
  private output: OutputReader | undefined;
  private files: StreamFiles | undefined;
  private streaming: OutputReturn | undefined;
  private readonly stopper: RunStop;
  /** Workers send the run's output lines back (`streamOutput`). */
  get returnsOutput(): boolean {
    return this.output !== undefined;
  }
  /** Told the queue of each job a worker starts. */
  onStarted: ((queue: string) => void) | undefined;

  constructor(
    private readonly target: RedisTarget,
    readonly conn: Redis,
    private readonly runKey: string,
    private readonly resume: boolean,
    /** A run with stages: jobs are known by name in Redis (see `jobIdFor`). */
    private readonly byName: boolean,
    private readonly pools: Record<string, PoolSpec>,
    say: (line: string) => void,
    readonly cache?: RemoteCache,
  ) {
    this.stopper = new RunStop({
      conn,
      runKey,
      say,
      queueOf: async (attempt) => {
        const lane = this.lane(attempt.request.job.pool);
        await lane.ready;
        return lane.queue;
      },
    });
  }

  start(request: ExecRequest, hooks: AttemptHooks): RunningAttempt {
    const id = jobIdFor(this.runKey, request.job, this.byName);
    const queue = queueName(request.job.pool);
    const attempt = new RemoteAttempt(this, id, request, {
      ...hooks,
      started: (...start) => {
        this.onStarted?.(queue);
        hooks.started(...start);
      },
    });
    if (this.dead) {
      attempt.finish(attempt.failure(`not run: ${this.dead}`));
      return attempt;
    }
    this.waiters.set(id, attempt);
    this.submit(attempt, request).catch((err: unknown) =>
      attempt.finish(attempt.failure(`could not enqueue: ${describe(err, this.target)}`)),
    );
    return attempt;
  }

  /** The run's jobs handed to Redis that no worker started yet, by queue; none once it stops. */
  waitingByQueue(): Map<string, number> {
    const counts = new Map<string, number>();
    if (this.dead !== undefined || this.stopper.stopped) return counts;
    for (const attempt of this.waiters.values()) {
      if (attempt.isRunning) continue;
      const queue = queueName(attempt.request.job.pool);
      counts.set(queue, (counts.get(queue) ?? 0) + 1);
    }
    return counts;
  }

  /** How many workers are connected to `queue` (one of the run's), as BullMQ counts them. */
  async workersOf(queue: string): Promise<number> {
    const lane = this.lanes.get(queue);
    if (lane === undefined) return 1; // not yet opened: nothing waits in it
    await lane.ready;
    return lane.queue.getWorkersCount();
  }

  lane(pool: string | undefined): Lane {
    const name = queueName(pool);
    let lane = this.lanes.get(name);
    if (lane) return lane;
    const connection = bullConnection(this.target);
    const queue = new Queue(name, {
      connection,
      prefix: PREFIX,
      streams: { events: { maxLen: EVENTS_MAX_LEN } },
    });
    queue.on('error', () => {});
    const ready = (async () => {
      // read events from the stream's current end, fixed *before* anything is added
      const last = await this.conn.xrevrange(`${PREFIX}:${name}:events`, '+', '-', 'COUNT', 1);
      const events = new QueueEvents(name, {
        connection,
        prefix: PREFIX,
        lastEventId: last[0]?.[0] ?? '0-0',
      });
      events.on('error', () => {});
      events.on('progress', ({ jobId, data }) => this.waiters.get(jobId)?.message(data));
      events.on(
        'completed',
        ({ jobId, returnvalue }) => void this.settle(jobId, (a) => a.completed(returnvalue)),
      );
      events.on(
        'failed',
        ({ jobId, failedReason }) => void this.settle(jobId, (a) => a.failed(failedReason)),
      );
      events.on('stalled', ({ jobId }) => this.waiters.get(jobId)?.stalled());
      lane!.events = events;
      await Promise.all([events.waitUntilReady(), queue.waitUntilReady()]);
      // a pool's width holds across every worker serving it: BullMQ's global concurrency
      const width = pool === undefined ? undefined : this.pools[pool]?.workers;
      if (width !== undefined) await queue.setGlobalConcurrency(width);
      await this.conn.sadd(POOLS_KEY, name);
    })();
    lane = { queue, events: undefined as unknown as QueueEvents, ready };
    this.lanes.set(name, lane);
    return lane;
  }

  private async submit(attempt: RemoteAttempt, request: ExecRequest): Promise<void> {
    const { job } = request;
    const lane = this.lane(job.pool);
    await lane.ready;
    if (this.resume && (await this.adopt(attempt, lane.queue))) return;
    const cache = await this.cache?.payloadOf(job);
    if (attempt.isDone) return; // withdrawn while we waited for the queue (or its needs' keys)
    if (this.stopper.stopped)
      return attempt.finish(attempt.unstarted('not enqueued: the run stopped'));
    const perWorker = job.pool === undefined ? undefined : this.pools[job.pool]?.perWorker;
    const payload = toPayload(
      this.runKey,
      job,
      request.timeoutMs,
      this.baseDir,
      this.streaming,
      perWorker,
    );
    Object.assign(payload, cache);
    await lane.queue.add(job.name, payload, {
      jobId: attempt.id,
      priority: bullPriority(job.priority),
      attempts: job.retries + 1,
      backoff: { type: 'jobrun' },
      removeOnComplete: { age: KEEP_FINISHED_S },
      removeOnFail: { age: KEEP_FINISHED_S },
    });
  }

  /**
   * `--resume`: a job this run already enqueued is read back (completed) or awaited
   * (waiting, delayed, active) instead of being added again. A failed one is removed
   * and run again, as a local `--resume` re-runs failed jobs.
   */
  private async adopt(attempt: RemoteAttempt, queue: Queue): Promise<boolean> {
    const existing: Job | undefined = await queue.getJob(attempt.id);
    if (!existing) return false;
    const state = await existing.getState();
    if (state === 'completed') {
      attempt.completed(existing.returnvalue);
      return true;
    }
    if (state === 'failed' || state === 'unknown') {
      await existing.remove();
      return false;
    }
    attempt.message(existing.progress);
    return true;
  }

  /**
   * `--resume` skipped `job` (the journal says it succeeded): a dependant's key holds
   * the key its worker made, read back from its end in this run once a dependant is
   * enqueued (bounded: Redis may be down; a key that cannot be read is lost, and the
   * dependant runs uncached, see `RemoteCache`).
   */
  resumed(job: JobSpec): void {
    this.cache?.resumed(job, async () => {
      const lane = this.lane(job.pool);
      await withTimeout(lane.ready, READ_BACK_MS);
      const end = lane.queue.getJob(jobIdFor(this.runKey, job, this.byName));
      return (await withTimeout(end, READ_BACK_MS))?.returnvalue;
    });
  }

  /** Withdraws a job still in its queue, or asks the worker holding it to stop it. */
  cancel(attempt: RemoteAttempt, immediate: boolean, unstarted = false): Promise<void> {
    this.stopper.cancel(attempt, immediate, unstarted);
    return Promise.resolve();
  }

  /** See `RunStop`: whatever stops the run comes through here first. */
  stopRun(): void {
    this.stopper.stop();
  }

  /**
   * The run cannot go on: every job still waited for ends now, failed with `reason`
   * (a job whose end never reached us is never reported succeeded), and later ones
   * are not enqueued.
   */
  abandon(reason: string): void {
    this.dead = reason;
    this.stopRun();
    for (const attempt of [...this.waiters.values()])
      attempt.finish(attempt.failure(`lost: ${reason}`));
  }

  /**
   * `--output stream|grouped`, `--results`: workers send the run's output lines to a
   * capped Redis stream; they are emitted as the job's own, as a local run would.
   */
  streamOutput(
    emit: Emit | undefined,
    files: StreamFiles | undefined,
    backpressure?: Backpressure,
  ): void {
    // lines as they come only where they are shown live; else each stream after its attempt
    this.streaming = emit ? 'lines' : 'streams';
    this.files = files;
    const blocking = new Redis(bullConnection(this.target));
    blocking.on('error', () => {});
    // lines shown live wait in Redis while jobrun's own reader is behind, not here
    const pressure = emit ? backpressure : undefined;
    this.output = new OutputReader(
      blocking,
      this.conn,
      this.runKey,
      (l) => {
        const waiter = this.waiters.get(l.jobId);
        if (!waiter) return;
        const { job } = waiter.request;
        const { stream, line, worker } = l;
        if (l.attempt !== undefined) files?.line(jobId(job), l.attempt, stream, line, l.newline);
        emit?.('job_output', { id: jobId(job), name: job.name, stream, line, worker });
      },
      pressure,
    );
  }

  /** `--results`: the files an attempt's output came back to, if it is kept. */
  streamsOf(
    attempt: RemoteAttempt,
    n: number,
    stopped: boolean,
  ): { stdoutPath?: string; stderrPath?: string } {
    return this.files?.paths(jobId(attempt.request.job), n, stopped) ?? {};
  }

  /** Delivers output lines already in Redis before an attempt's end is handled. */
  private async settle(id: string, then: (attempt: RemoteAttempt) => void): Promise<void> {
    if (this.output) await withTimeout(this.output.drain(), CLOSE_WAIT_MS).catch(() => {});
    const attempt = this.waiters.get(id);
    if (attempt) then(attempt);
  }

  /** Bounded: with Redis dead, BullMQ's close would wait for a reconnect forever. */
  async close(): Promise<void> {
    await this.stopper.settled();
    for (const attempt of this.waiters.values()) attempt.clearTimer();
    const closing = Promise.all([
      this.output?.stop(),
      ...[...this.lanes.values()].map(async (lane) => {
        await lane.ready.catch(() => {});
        await Promise.all(
          [lane.events?.close(), lane.queue.close()].map((p) => p?.catch(() => {})),
        );
      }),
    ]);
    await withTimeout(closing, CLOSE_WAIT_MS).catch(() => {
      for (const lane of this.lanes.values()) {
        void lane.events?.disconnect().catch(() => {});
        void lane.queue.disconnect().catch(() => {});
      }
    });
  }
}
