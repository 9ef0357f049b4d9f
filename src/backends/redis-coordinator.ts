import { Redis } from 'ioredis';
import { Scheduler } from '../core/scheduler.js';
import type { Backend, BackendRun, RunOptions } from './backend.js';
import { UsageError } from '../errors.js';
import { BackendError, bullConnection, checkRedis, describe } from './redis-connect.js';
import { BullExecutor, CLOSE_WAIT_MS } from './redis-executor.js';
import { RemoteCache } from './redis-cache.js';
import { RedisHealth, withTimeout } from './redis-health.js';
import { RedisScale } from './redis-scale.js';
import { StreamFiles } from './redis-stream-files.js';
import { UNSERVED_NOTICE_MS, UnservedWatch } from './redis-unserved.js';
import {
  KEEP_FINISHED_S,
  badPoolName,
  cancelledKey,
  pausedKey,
  newRunKey,
  runPointerKey,
} from './redis-names.js';
import type { RedisTarget } from './redis-url.js';
import type { StopSignal } from '../model/stop.js';
import type { RunControls } from '../core/steering.js';

export interface RedisBackendOptions {
  /** How long Redis may stay unreachable during a run before the run is given up. */
  unreachableLimitMs?: number;
  /** How long a queue's jobs may wait with no worker before the run says so; 0: never. */
  unservedNoticeMs?: number;
  /** Where the coordinator says what is wrong with Redis (default: stderr). */
  say?: (line: string) => void;
}

/**
 * `--backend redis://…` (its URL parsed): checks the connection first (a wrong password or port is a
 * clear exit-2 error naming the redacted URL), then runs coordinators on it.
 */
export async function openRedisBackend(
  target: RedisTarget,
  settings: RedisBackendOptions = {},
): Promise<Backend> {
  await checkRedis(target);
  const conn = new Redis(bullConnection(target));
  conn.on('error', () => {}); // RedisHealth says what is wrong and for how long
  const say = settings.say ?? ((line: string) => process.stderr.write(`jobrun: ${line}\n`));
  const limitMs = settings.unreachableLimitMs ?? 30_000;
  const unservedMs = settings.unservedNoticeMs ?? UNSERVED_NOTICE_MS;
  return {
    createRun: (options) => new RedisRun(target, conn, options, { say, limitMs, unservedMs }),
    close: async () => {
      await withTimeout(conn.quit(), CLOSE_WAIT_MS).catch(() => {});
      conn.disconnect();
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
  private scaler: RedisScale | undefined;
  private pendingSignal: StopSignal | undefined;

  constructor(
    private readonly target: RedisTarget,
    private readonly conn: Redis,
    private readonly options: RunOptions,
    private readonly settings: {
      say: (line: string) => void;
      limitMs: number;
      unservedMs: number;
    },
  ) {}

  async run(source: Parameters<BackendRun['run']>[0]) {
    const { identity, resume, gate: _gate, captureOutput, cacheExplain, ...rest } = this.options;
    for (const pool of Object.keys(rest.pools)) {
      const bad = badPoolName(pool);
      if (bad) throw new UsageError(bad);
    }
    const runKey = await withTimeout(this.attach(identity, resume), 10_000).catch((err) => {
      throw new BackendError(
        `cannot start the run on ${this.target.safe}: ${describe(err, this.target)}`,
      );
    });
    const executor = new BullExecutor(
      this.target,
      this.conn,
      runKey,
      resume,
      rest.stages !== undefined,
      rest.pools,
      this.settings.say,
      new RemoteCache({ explain: cacheExplain, warn: this.settings.say }),
    );
    // --results, grouped output: the output comes back to files here, as a local run keeps
    // it (the workers' logs may be on other machines)
    const streams = rest.separateStreams || rest.remoteStreams;
    if (captureOutput || streams)
      executor.streamOutput(
        captureOutput ? rest.emit : undefined,
        streams ? new StreamFiles(rest.logDir) : undefined,
        rest.backpressure,
      );
    const health = new RedisHealth({
      conn: this.conn,
      target: this.target,
      runKey,
      limitMs: this.settings.limitMs,
      say: this.settings.say,
      onDead: (reason) => executor.abandon(reason),
    });
    const unserved = new UnservedWatch({
      afterMs: this.settings.unservedMs,
      waiting: () => executor.waitingByQueue(),
      workersOf: (queue) => executor.workersOf(queue),
      safeUrl: this.target.safe,
      say: this.settings.say,
    });
    executor.onStarted = (queue) => unserved.started(queue);
    const scaler = new RedisScale({
      conn: this.conn,
      runKey,
      pools: Object.keys(rest.pools),
      queueOf: async (pool) => {
        const lane = executor.lane(pool);
        await lane.ready;
        return lane.queue;
      },
      emit: rest.emit,
    });
    try {
      await this.startLimit(scaler, rest.workers.max);
      const scheduler = new Scheduler({
        ...rest,
        alreadyDone: rest.alreadyDone && resumedVia(rest.alreadyDone, executor),
        executor,
      });
      this.scheduler = scheduler;
      this.scaler = scaler;
      // a stop that came while the run was set up: paused, no job reaches a worker
      if (this.pendingSignal) scheduler.pause();
      const done = scheduler.run(source);
      if (this.pendingSignal) this.interrupt(this.pendingSignal);
      return await done;
    } finally {
      health.stop();
      unserved.stop();
      await withTimeout(scaler.forget(), CLOSE_WAIT_MS).catch(() => {});
      await executor.close();
    }
  }

  /**
   * `-j N` (the manifest's `workers:`) is the run's limit across the workers from its
   * start, as `jobrun scale -j N` would set it (a resumed run's too: set over the old
   * one, never forgotten first, so its jobs waiting on workers see no moment without).
   * A run without one (`limit` 0) starts without a limit, and its jobs take no leases
   * (`RunCaps`); Redis trouble forgetting an old one is the health check's to say.
   */
  private async startLimit(scaler: RedisScale, limit: number): Promise<void> {
    if (limit === 0) return withTimeout(scaler.forget(), 10_000).catch(() => {});
    await withTimeout(scaler.limit(limit), 10_000).catch((err: unknown) => {
      throw new BackendError(
        `cannot set the run's limit (-j ${limit}) on ${this.target.safe}: ${describe(err, this.target)}`,
      );
    });
  }

  /**
   * `jobrun pause/cancel/drain` reach the scheduler once it runs: they act on the jobs
   * not yet handed to workers (a drain withdraws them as `--halt soon` does); `scale`
   * sets limits the workers read (see `RedisScale`).
   */
  get controls(): RunControls | undefined {
    return this.scheduler && this.scaler?.controls(this.scheduler.controls);
  }

  /** The scheduler's stop tells the executor, which marks the run cancelled in Redis. */
  interrupt(signal: StopSignal): void {
    if (!this.scheduler) {
      this.pendingSignal ??= signal;
      return;
    }
    this.scheduler.interrupt(signal);
  }

  abort(reason: string): void {
    this.scheduler?.abort(reason);
  }

  /**
   * The run key: the identity's current run when resuming, else a fresh one. A resumed
   * run is no longer cancelled: the stop that ended it before marked it so, and workers
   * would drop every job of it unstarted. Its jobs that are still in Redis are this
   * coordinator's to await now (see `BullExecutor.adopt`).
   */
  private async attach(identity: string, resume: boolean): Promise<string> {
    const pointer = runPointerKey(identity);
    if (resume) {
      const existing = await this.conn.get(pointer);
      if (existing) {
        await this.conn.del(cancelledKey(existing), pausedKey(existing));
        await RedisHealth.markLive(this.conn, existing);
        return existing;
      }
    }
    const runKey = newRunKey(identity, this.options.runId);
    await this.conn.set(pointer, runKey, 'EX', KEEP_FINISHED_S);
    await RedisHealth.markLive(this.conn, runKey);
    return runKey;
  }
}

/** A cached job `--resume` skips keeps its key in its dependants' (see `BullExecutor.resumed`). */
function resumedVia(
  alreadyDone: NonNullable<RunOptions['alreadyDone']>,
  executor: BullExecutor,
): NonNullable<RunOptions['alreadyDone']> {
  return (job) => {
    const earlier = alreadyDone(job);
    if (earlier) executor.resumed(job);
    return earlier;
  };
}
