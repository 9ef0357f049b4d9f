import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { PREFIX } from './redis-names.js';

/**
 * `jobrun scale -j N` on Redis: at most N of a run's jobs run at once, across every
 * worker. The limit is one Redis key per run (absent: no limit but the workers' own);
 * each running job holds a lease in the run's sorted set, scored with the time (Redis
 * server time, so machines' clocks do not matter) it lapses unless its worker renews
 * it. A worker killed with -9 stops renewing, and its leases lapse within a lock
 * duration. Leases are taken whether or not a limit is set, so a limit set while jobs
 * run counts them.
 */
export function capKey(runKey: string): string {
  return `${PREFIX}:meta:cap:${runKey}`;
}

function leasesKey(runKey: string): string {
  return `${PREFIX}:meta:leases:${runKey}`;
}

/** KEYS: cap, leases. ARGV: lease ms, member, keep ms. 1 when the lease is held now. */
const ACQUIRE = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local cap = tonumber(redis.call('GET', KEYS[1]) or '')
if cap and not redis.call('ZSCORE', KEYS[2], ARGV[2]) and redis.call('ZCARD', KEYS[2]) >= cap then
  return 0
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`;

/** KEYS: leases. ARGV: lease ms, keep ms, members…: pushes the members' lapse time on. */
const RENEW = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 3, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`;

/** A job held back by its run's limit looks again this often at most (then at least once a second). */
const FIRST_LOOK_MS = 100;
const LAST_LOOK_MS = 1000;

type CapRedis = Redis & {
  jobrunCapAcquire(
    cap: string,
    leases: string,
    ms: number,
    member: string,
    keep: number,
  ): Promise<number>;
  jobrunCapRenew(leases: string, ms: number, keep: number, ...members: string[]): Promise<number>;
};

/** A worker's side of the run limit: waits for a lease before a job starts, renews, returns it. */
export class RunCaps {
  private readonly conn: CapRedis;
  /** Job id → run key, for the leases this worker holds. */
  private readonly held = new Map<string, string>();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    conn: Redis,
    private readonly leaseMs: number,
  ) {
    conn.defineCommand('jobrunCapAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    conn.defineCommand('jobrunCapRenew', { numberOfKeys: 1, lua: RENEW });
    this.conn = conn as CapRedis;
    this.timer = setInterval(() => void this.renew(), Math.max(100, leaseMs / 3));
    this.timer.unref();
  }

  /**
   * Resolves once job `id` of run `runKey` holds a lease (the run is under its limit),
   * or early when `gaveUp()` says the job will not start anyway. A Redis error rejects,
   * as the worker's other checks before a start do.
   */
  async acquire(runKey: string, id: string, gaveUp: () => boolean): Promise<void> {
    for (let wait = FIRST_LOOK_MS; ; wait = Math.min(wait * 2, LAST_LOOK_MS)) {
      const got = await this.conn.jobrunCapAcquire(
        capKey(runKey),
        leasesKey(runKey),
        this.leaseMs,
        id,
        this.keepMs,
      );
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
