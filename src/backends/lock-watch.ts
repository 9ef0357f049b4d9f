import type { Redis } from 'ioredis';

/**
 * A worker cut off from Redis cannot renew its jobs' locks, and BullMQ does not say so:
 * its renewals wait for a reconnect. Once no PING has been answered for a lock period,
 * every lock this worker held has lapsed and another worker may own those jobs, so
 * `lapsed` is called (each tick, while cut off) to stop them. With Redis up, BullMQ's
 * own `lockRenewalFailed` covers a lock that could not be renewed.
 */
export class LockWatch {
  private lastAnswer = Date.now();
  private asking = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(
    private readonly conn: Redis,
    private readonly lockMs: number,
    private readonly lapsed: () => void,
  ) {
    this.timer = setInterval(() => this.tick(), Math.min(1000, Math.max(100, lockMs / 4)));
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    if (Date.now() - this.lastAnswer >= this.lockMs) this.lapsed();
    if (this.asking) return;
    this.asking = true;
    this.conn
      .ping()
      .then(() => (this.lastAnswer = Date.now()))
      .catch(() => {})
      .finally(() => (this.asking = false));
  }
}
