import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { refuseUnknownPools, type RunControls } from '../core/steering.js';
import type { Emit } from '../model/events.js';
import { KEEP_FINISHED_S, PREFIX, pausedKey, queueName } from './redis-names.js';
import { forgetRunCap, renewRunPause, setRunCap, setRunPause } from './redis-run-cap.js';

/**
 * A pause lapses this long after its coordinator last renewed it: one killed with -9
 * while paused does not hold its jobs on the workers for days (they run, as any job of
 * a run whose coordinator died; a `--resume` adopts them).
 */
const PAUSE_LAPSE_MS = 30_000;

/**
 * What `jobrun scale` means for a run on Redis, where the workers run the jobs:
 * - `-j N`: at most N of this run's jobs at once, across every worker (each worker's
 *   own `-j` still holds); once a run has a limit, workers take a lease per job
 *   before it starts (see `RunCaps`), so a change holds for the next start, on every
 *   worker;
 * - `--pool P=N`: pool P's limit across every worker, the manifest's `pools.P.workers`
 *   (BullMQ's global concurrency on the pool's queue: shared by every run using P).
 * Scaling down stops nothing: running jobs finish, fewer start after them.
 *
 * `jobrun pause` (of the run or a pool) holds the jobs not handed to workers yet in the
 * scheduler, and those already in Redis on the workers, which look at the run's pause
 * right before each start (`setRunPause`); it answers once that is written.
 */
export class RedisScale {
  private readonly limits: Record<string, number> = {};
  /** Renews the pause while there is one. */
  private pauseTimer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly o: {
      conn: Redis;
      runKey: string;
      /** The run's pools: a pool it does not have is refused, not created. */
      pools: readonly string[];
      queueOf: (pool: string) => Promise<Queue>;
      emit: Emit;
      /** See `PAUSE_LAPSE_MS` (tests shorten it). */
      pauseLapseMs?: number;
    },
  ) {}

  async scale({ workers, pools }: { workers?: number; pools?: Record<string, number> }) {
    refuseUnknownPools(this.o.pools, Object.keys(pools ?? {}));
    if (workers !== undefined) {
      await this.limit(workers);
      this.o.emit('workers_change', { workers });
    }
    for (const [pool, limit] of Object.entries(pools ?? {})) {
      await (await this.o.queueOf(pool)).setGlobalConcurrency(limit);
      this.limits[pool] = limit;
    }
    return true;
  }

  /**
   * Sets the run's limit: `scale -j N`, or an explicit `-j N` (the manifest's `workers:`)
   * from the run's start, before any of its jobs is enqueued.
   */
  async limit(workers: number): Promise<void> {
    // the run's queues: the default one (jobs without a pool) and its pools'
    const queues = [undefined, ...this.o.pools].map((p) => `${PREFIX}:${queueName(p)}:`);
    await setRunCap(this.o.conn, this.o.runKey, workers, KEEP_FINISHED_S, queues);
  }

  /** The run's steering as `jobrun ps` shows it: the pools' limits are these. */
  controls(scheduler: RunControls): RunControls {
    return {
      pause: async (pool) => {
        await scheduler.pause(pool); // throws for a pool the run does not have
        await this.tellPause(scheduler);
      },
      unpause: async (pool) => {
        await scheduler.unpause(pool);
        await this.tellPause(scheduler);
      },
      cancel: (names) => scheduler.cancel(names),
      drain: () => scheduler.drain(),
      scale: (change) => this.scale(change),
      steering: () => {
        const state = scheduler.steering();
        return { ...state, poolLimits: { ...state.poolLimits, ...this.limits } };
      },
    };
  }

  /** The scheduler's pause, as workers read it before each start; renewed while it lasts. */
  private async tellPause(scheduler: RunControls): Promise<void> {
    const { conn, runKey, pauseLapseMs = PAUSE_LAPSE_MS } = this.o;
    const state = scheduler.steering();
    await setRunPause(conn, runKey, state, pauseLapseMs);
    clearInterval(this.pauseTimer);
    this.pauseTimer = undefined;
    if (!state.paused && state.pausedPools.length === 0) return;
    const renew = () => void renewRunPause(conn, runKey, pauseLapseMs).catch(() => {});
    this.pauseTimer = setInterval(renew, pauseLapseMs / 3);
    this.pauseTimer.unref();
  }

  /** The limit and the pause end with the run (a `--resume` starts without them). */
  async forget(): Promise<void> {
    clearInterval(this.pauseTimer);
    await forgetRunCap(this.o.conn, this.o.runKey);
    await this.o.conn.del(pausedKey(this.o.runKey));
  }
}
