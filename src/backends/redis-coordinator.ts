import { Queue, QueueEvents, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { AttemptHooks, RemoteExecutor } from '../core/remote.js';
import { Scheduler } from '../core/scheduler.js';
import type { PoolSpec } from '../model/job.js';
import type { ExecRequest, RunningAttempt } from '../exec/types.js';
import { RemoteAttempt, type AttemptOwner } from './redis-attempt.js';
import type { Backend, BackendRun, RunOptions } from './backend.js';
import { bullConnection, checkRedis, describe } from './redis-connect.js';
import {
  CANCEL_CHANNEL,
  KEEP_FINISHED_S,
  POOLS_KEY,
  PREFIX,
  bullPriority,
  jobIdFor,
  newRunKey,
  queueName,
  runPointerKey,
} from './redis-names.js';
import { parseRedisUrl, type RedisTarget } from './redis-url.js';
import { toPayload } from './payload.js';
import type { StopSignal } from '../model/stop.js';

/** Events kept per queue stream; enough that a busy run never trims what we still read. */
const EVENTS_MAX_LEN = 100_000;
const WAITING_STATES = new Set(['waiting', 'wait', 'delayed', 'prioritized', 'waiting-children']);

/**
 * `--backend redis://…`: checks the connection first (a wrong password or port is a
 * clear exit-2 error naming the redacted URL), then runs coordinators on it.
 */
export async function openRedisBackend(url: string): Promise<Backend> {
  const target = parseRedisUrl(url);
  await checkRedis(target);
  const conn = new Redis(bullConnection(target));
  conn.on('error', () => {}); // ioredis reconnects by itself; BullMQ reports what matters
  return {
    name: target.safe,
    enforcesPoolLimits: true,
    createRun: (options) => new RedisRun(target, conn, options),
    close: async () => {
      await conn.quit().catch(() => conn.disconnect());
    },
  };
}

/**
 * A run whose jobs execute on `jobrun worker`s. The scheduler still owns needs,
 * priorities, halt policies and the report; the BullMQ executor below turns each
 * dispatched job into a BullMQ job and its queue events back into attempts.
 */
class RedisRun implements BackendRun {
  private scheduler: Scheduler | undefined;
  private pendingSignal: StopSignal | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly conn: Redis,
    private readonly options: RunOptions,
  ) {}

  async run(source: Parameters<BackendRun['run']>[0]) {
    const { identity, resume, gate: _gate, captureOutput: _capture, ...rest } = this.options;
    const runKey = await this.attach(identity, resume);
    const executor = new BullExecutor(this.target, this.conn, runKey, resume, rest.pools);
    const scheduler = new Scheduler({ ...rest, executor });
    this.scheduler = scheduler;
    try {
      const done = scheduler.run(source);
      if (this.pendingSignal) scheduler.interrupt(this.pendingSignal);
      return await done;
    } finally {
      await executor.close();
    }
  }

  interrupt(signal: StopSignal): void {
    if (this.scheduler) this.scheduler.interrupt(signal);
    else this.pendingSignal ??= signal;
  }

  abort(reason: string): void {
    this.scheduler?.abort(reason);
  }

  /** The run key: the identity's current run when resuming, else a fresh one. */
  private async attach(identity: string, resume: boolean): Promise<string> {
    const pointer = runPointerKey(identity);
    if (resume) {
      const existing = await this.conn.get(pointer);
      if (existing) return existing;
    }
    const runKey = newRunKey(identity, this.options.runId);
    await this.conn.set(pointer, runKey, 'EX', KEEP_FINISHED_S);
    return runKey;
  }
}

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
class BullExecutor implements RemoteExecutor, AttemptOwner {
  readonly remote = true;
  readonly waiters = new Map<string, RemoteAttempt>();
  private readonly lanes = new Map<string, Lane>();
  private readonly baseDir = process.cwd();

  constructor(
    private readonly target: RedisTarget,
    readonly conn: Redis,
    private readonly runKey: string,
    private readonly resume: boolean,
    private readonly pools: Record<string, PoolSpec>,
  ) {}

  start(request: ExecRequest, hooks: AttemptHooks): RunningAttempt {
    const id = jobIdFor(this.runKey, request.job);
    const attempt = new RemoteAttempt(this, id, request, hooks);
    this.waiters.set(id, attempt);
    this.submit(attempt, request).catch((err: unknown) =>
      attempt.finish(attempt.failure(`could not enqueue: ${describe(err, this.target)}`)),
    );
    return attempt;
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
      events.on('completed', ({ jobId, returnvalue }) =>
        this.waiters.get(jobId)?.completed(returnvalue),
      );
      events.on('failed', ({ jobId, failedReason }) =>
        this.waiters.get(jobId)?.failed(failedReason),
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
    if (attempt.isDone) return; // withdrawn while we waited for the queue
    await lane.queue.add(job.name, toPayload(this.runKey, job, request.timeoutMs, this.baseDir), {
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

  /** Withdraws a job still in its queue, or asks the worker running it to stop it. */
  async cancel(attempt: RemoteAttempt, immediate: boolean): Promise<void> {
    const lane = this.lane(attempt.request.job.pool);
    await lane.ready;
    const job: Job | undefined = await lane.queue.getJob(attempt.id);
    if (!job) return attempt.finish(attempt.failure('withdrawn before a worker took it'));
    const state = await job.getState();
    if (WAITING_STATES.has(state)) {
      try {
        await job.remove();
        return attempt.finish(attempt.failure('withdrawn before a worker took it'));
      } catch {
        // a worker took it meanwhile: ask it to stop
      }
    }
    await this.conn.publish(CANCEL_CHANNEL, JSON.stringify({ jobId: attempt.id, immediate }));
  }

  async close(): Promise<void> {
    for (const attempt of this.waiters.values()) attempt.clearTimer();
    await Promise.all(
      [...this.lanes.values()].map(async (lane) => {
        await lane.ready.catch(() => {});
        await Promise.all(
          [lane.events?.close(), lane.queue.close()].map((p) => p?.catch(() => {})),
        );
      }),
    );
  }
}
