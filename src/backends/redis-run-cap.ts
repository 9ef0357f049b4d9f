import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { PREFIX, WHOLE_RUN, cancelledKey, pausedKey } from './redis-names.js';
import { ACQUIRE, CHECK, LIMIT, RENEW } from './redis-run-cap-scripts.js';

/**
 * `jobrun scale -j N` on Redis: at most N of a run's jobs run at once, across every
 * worker. The limit is one Redis key per run (absent: no limit but the workers' own).
 * A run without a limit costs its jobs nothing: the check every job makes before it
 * starts (is the run cancelled?) reads the limit in the same script, and only when
 * there is one does the job take a lease in the run's sorted set, scored with the time
 * (Redis server time, so machines' clocks do not matter) it lapses unless its worker
 * renews it. A worker killed with -9 stops renewing, and its leases lapse within a lock
 * duration.
 *
 * Jobs that started before the limit was set hold no lease, so setting it also notes,
 * in the same script, every job of the run the queues hold as active, with its BullMQ
 * lock: each counts as running until it holds a lease or its lock is gone (its job
 * ended, or its worker died). That list is a superset of the running jobs (a job a
 * worker fetched but has not started is active too), and every job that passed its
 * check before the limit was set is on it, so the limit is never exceeded. A job not
 * yet started leaves the list when it or a job of its run on its worker asks for a
 * lease.
 */
export function capKey(runKey: string): string {
  return `${PREFIX}:meta:cap:${runKey}`;
}

function leasesKey(runKey: string): string {
  return `${PREFIX}:meta:leases:${runKey}`;
}

/** Job id → its BullMQ lock key, for the jobs that were active when the limit was set. */
function unleasedKey(runKey: string): string {
  return `${PREFIX}:meta:unleased:${runKey}`;
}

/**
 * Sets run `runKey`'s limit to `limit` (for `seconds`), noting its jobs active in the
 * queues whose BullMQ key prefixes (`jobrun:<queue>:`) are `queuePrefixes`.
 */
export async function setRunCap(
  conn: Redis,
  runKey: string,
  limit: number,
  seconds: number,
  queuePrefixes: readonly string[],
): Promise<void> {
  await conn.eval(
    LIMIT,
    2,
    capKey(runKey),
    unleasedKey(runKey),
    String(limit),
    String(seconds),
    `${runKey}.`,
    ...queuePrefixes,
  );
}

/** The limit ends with the run (a `--resume` starts without one). */
export async function forgetRunCap(conn: Redis, runKey: string): Promise<void> {
  await conn.del(capKey(runKey), unleasedKey(runKey));
}

/** What a run's pause says: the whole run, and the pools paused on their own. */
export interface RunPause {
  paused: boolean;
  pausedPools: readonly string[];
}

/**
 * Writes run `runKey`'s pause (lapsing after `lapseMs` unless renewed, see `renewRunPause`)
 * where workers look before each start: once this resolves, no worker starts a job of
 * the run (or of a paused pool) until the next write lifts it. One transaction, so a
 * worker never sees half of a change.
 */
export async function setRunPause(
  conn: Redis,
  runKey: string,
  { paused, pausedPools }: RunPause,
  lapseMs: number,
): Promise<void> {
  const key = pausedKey(runKey);
  const members = [...(paused ? [WHOLE_RUN] : []), ...pausedPools];
  const tx = conn.multi().del(key);
  if (members.length > 0) tx.sadd(key, ...members).pexpire(key, lapseMs);
  await tx.exec();
}

/** Pushes the lapse of run `runKey`'s pause on; a pause already lifted stays lifted. */
export async function renewRunPause(conn: Redis, runKey: string, lapseMs: number): Promise<void> {
  await conn.pexpire(pausedKey(runKey), lapseMs);
}

/** What the last look before a start says (`paused`: held by `jobrun pause`, of the run or of the job's pool). */
export type StartCheck = 'cancelled' | 'held' | 'paused' | 'pool paused' | 'go';

/** A job held back by its run's limit looks again this often at most (then at least once a second). */
const FIRST_LOOK_MS = 100;
const LAST_LOOK_MS = 1000;

type CapRedis = Redis & {
  jobrunCapAcquire(
    cap: string,
    leases: string,
    unleased: string,
    paused: string,
    ms: number,
    member: string,
    keep: number,
    pool: string,
    ...notStarted: string[]
  ): Promise<number>;
  jobrunCapCheck(
    cancelled: string,
    cap: string,
    leases: string,
    unleased: string,
    paused: string,
    ms: number,
    member: string,
    keep: number,
    pool: string,
  ): Promise<number>;
  jobrunCapRenew(leases: string, ms: number, keep: number, ...members: string[]): Promise<number>;
};

/**
 * A worker's side of the run limit and of its pause: the check before a job starts, a
 * wait for a lease when the run is at its limit or paused, renewals, and the lease's
 * return.
 */
export class RunCaps {
  private readonly conn: CapRedis;
  /** Job id → run key, for the leases this worker holds. */
  private readonly held = new Map<string, string>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    conn: Redis,
    private readonly leaseMs: number,
  ) {
    conn.defineCommand('jobrunCapAcquire', { numberOfKeys: 4, lua: ACQUIRE });
    conn.defineCommand('jobrunCapCheck', { numberOfKeys: 5, lua: CHECK });
    conn.defineCommand('jobrunCapRenew', { numberOfKeys: 1, lua: RENEW });
    this.conn = conn as CapRedis;
    this.timer = setInterval(() => void this.renew(), Math.max(100, leaseMs / 3));
    this.timer.unref();
  }

  /**
   * The last look before job `id` (of `pool`, '' for none) of run `runKey` starts, one
   * round trip: whether the run was cancelled, whether it or the pool is paused and,
   * only when the run has a limit, a lease under it (`held`: the run is at its limit;
   * `paused`: it is paused; either way wait in `acquire`, then check again). Sent at
   * once, in call order with this worker's other lease commands (`acquire` relies on it).
   */
  async check(runKey: string, id: string, pool: string): Promise<StartCheck> {
    const said = await this.conn.jobrunCapCheck(
      cancelledKey(runKey),
      ...this.args(runKey, id, pool),
    );
    if (said === 1) this.held.set(id, runKey);
    if (said < 0) return 'cancelled';
    if (said === 3) return 'paused';
    if (said === 4) return 'pool paused';
    return said === 0 ? 'held' : 'go';
  }

  /** Whether run `runKey` carries its cancel mark (a stop of the whole run); false when Redis cannot say. */
  async cancelled(runKey: string): Promise<boolean> {
    return (await this.conn.exists(cancelledKey(runKey)).catch(() => 0)) > 0;
  }

  /**
   * Resolves once job `id` (of `pool`) of run `runKey` holds a lease (the run is under
   * its limit and not paused), or early when `gaveUp()` says the job will not start anyway. `notStarted()`: the
   * ids of this worker's jobs of the run whose `check` was not sent yet, which are not
   * running, so need not count. A Redis error rejects, as the worker's other checks
   * before a start do.
   */
  async acquire(
    runKey: string,
    id: string,
    pool: string,
    gaveUp: () => boolean,
    notStarted: () => string[] = () => [],
  ): Promise<void> {
    for (let wait = FIRST_LOOK_MS; ; wait = Math.min(wait * 2, LAST_LOOK_MS)) {
      const args = this.args(runKey, id, pool);
      const got = await this.conn.jobrunCapAcquire(...args, ...notStarted());
      if (got === 1) {
        this.held.set(id, runKey);
        return;
      }
      if (gaveUp()) return;
      await sleep(wait);
    }
  }

  /** Gives the job's lease back (if it holds one); losing the message only lets it lapse. */
  release(id: string): void {
    const runKey = this.held.get(id);
    if (runKey === undefined) return;
    this.held.delete(id);
    this.conn.zrem(leasesKey(runKey), id).catch(() => {});
  }

  /** What both scripts take after their own first key: the run's keys, the lease, the pool. */
  private args(runKey: string, id: string, pool: string) {
    const keys = [
      capKey(runKey),
      leasesKey(runKey),
      unleasedKey(runKey),
      pausedKey(runKey),
    ] as const;
    return [...keys, this.leaseMs, id, this.keepMs, pool] as const;
  }

  /** The leases set outlives its last lease by this much, then goes with the run. */
  private get keepMs(): number {
    return this.leaseMs * 6;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async renew(): Promise<void> {
    const byRun = new Map<string, string[]>();
    for (const [id, runKey] of this.held) byRun.set(runKey, [...(byRun.get(runKey) ?? []), id]);
    for (const [runKey, ids] of byRun)
      await this.conn
        .jobrunCapRenew(leasesKey(runKey), this.leaseMs, this.keepMs, ...ids)
        .catch(() => {});
  }
}
