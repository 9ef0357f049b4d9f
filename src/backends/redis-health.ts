import type { Redis } from 'ioredis';
import { describe } from './redis-connect.js';
import { KEEP_FINISHED_S, liveKey } from './redis-names.js';
import type { RedisTarget } from './redis-url.js';

/** How often the coordinator looks at its connection and at the run's state in Redis. */
const TICK_MS = 1000;

export interface HealthOptions {
  conn: Redis;
  target: RedisTarget;
  runKey: string;
  /** How long Redis may stay unreachable before the run is given up. */
  limitMs: number;
  /** One line for the user (stderr). */
  say: (line: string) => void;
  /** The run cannot go on: every unfinished job ends with `reason`. Called once. */
  onDead: (reason: string) => void;
}

/**
 * The coordinator's watch on Redis, so that no wait on it is unbounded:
 * - a lost connection is said at once, retried (ioredis reconnects) for `limitMs`,
 *   then the run is given up;
 * - the run's live key (set when the run starts, its TTL renewed here) vanishing while
 *   Redis answers means Redis lost the run's state (restarted without persistence, or
 *   flushed): queued jobs and their events are gone, so waiting would be forever.
 */
export class RedisHealth {
  private downSince: number | undefined;
  private lastError = 'connection closed';
  private checking = false;
  private dead = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly o: HealthOptions) {
    o.conn.on('error', (err: unknown) => (this.lastError = describe(err, o.target)));
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  /** Marks the run live in Redis; call once the run key is known. */
  static async markLive(conn: Redis, runKey: string): Promise<void> {
    await conn.set(liveKey(runKey), '1', 'EX', KEEP_FINISHED_S);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.dead || this.checking) return;
    const { conn, target, limitMs, say } = this.o;
    const now = Date.now();
    if (conn.status !== 'ready') {
      if (this.downSince === undefined) {
        this.downSince = now;
        say(
          `Redis at ${target.safe} is unreachable (${this.lastError}); retrying for ${seconds(limitMs)}`,
        );
      } else if (now - this.downSince >= limitMs) {
        this.give(
          `Redis at ${target.safe} was unreachable for ${seconds(limitMs)} (${this.lastError})`,
        );
      }
      return;
    }
    if (this.downSince !== undefined) {
      this.downSince = undefined;
      say(`Redis at ${target.safe} is reachable again`);
    }
    this.checking = true;
    try {
      const renewed = await withTimeout(conn.expire(liveKey(this.o.runKey), KEEP_FINISHED_S), 5000);
      if (renewed === 0)
        this.give(
          `Redis at ${target.safe} lost this run's state (restarted without persistence, or flushed)`,
        );
    } catch {
      // unanswered: the connection check above takes it from here
    } finally {
      this.checking = false;
    }
  }

  private give(reason: string): void {
    if (this.dead) return;
    this.dead = true;
    this.stop();
    this.o.say(`${reason}: ending the run; unfinished jobs are reported failed`);
    this.o.onDead(reason);
  }
}

/** `10s`, `1.5s`. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10}s`;
}

/** Resolves like `promise`, or rejects after `ms`: a command Redis never answers. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis in ${ms}ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
