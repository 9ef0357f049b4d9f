import { seconds, withTimeout } from './redis-health.js';
import { poolOfQueue } from './redis-names.js';

/** How long a queue's jobs may wait with none started before the run says so (`--unserved-notice`). */
export const UNSERVED_NOTICE_MS = 10_000;

export interface UnservedOptions {
  /** Notice after this long; 0: never. */
  afterMs: number;
  /** The run's jobs handed to Redis and not started by a worker, by queue name. */
  waiting: () => Map<string, number>;
  /** How many workers serve a queue now (BullMQ's `getWorkersCount`). */
  workersOf: (queue: string) => Promise<number>;
  /** The Redis URL as it may be shown (password hidden). */
  safeUrl: string;
  /** One line for the user (stderr). */
  say: (line: string) => void;
}

/**
 * A run that no worker serves (none started, or none serves a pool, or the pool-less
 * queue under `--pool cpu`) would wait in silence until Ctrl-C. Once a queue's jobs
 * have waited `afterMs` with none of them started meanwhile, the queue is asked
 * whether any worker is connected to it; those with none are named on stderr, once
 * (again only after a worker came and went). Workers busy with long jobs are
 * connected, so a run that merely waits for them is never told anything.
 */
export class UnservedWatch {
  /** Queue → since when its jobs wait with none of them started. */
  private readonly quietSince = new Map<string, number>();
  /** Queues already named as having no worker. */
  private readonly told = new Set<string>();
  private readonly timer: ReturnType<typeof setInterval> | undefined;
  private checking = false;

  constructor(
    private readonly o: UnservedOptions,
    private readonly now: () => number = Date.now,
    /** Look on a timer (tests look with `tick`). */
    ticking = true,
  ) {
    if (o.afterMs <= 0 || !ticking) return;
    this.timer = setInterval(() => void this.tick(), Math.min(1000, Math.max(50, o.afterMs / 2)));
    this.timer.unref();
  }

  /** A worker started a job of `queue`: it is served. */
  started(queue: string): void {
    this.quietSince.delete(queue);
    this.told.delete(queue);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Public for tests: one look. Never rejects: it runs on a timer nobody awaits. */
  async tick(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      await this.look();
    } catch {
      // a look that fails (Redis gone: the health check's to say) is tried again next tick
    } finally {
      this.checking = false;
    }
  }

  private async look(): Promise<void> {
    const now = this.now();
    const waiting = this.o.waiting();
    for (const queue of this.quietSince.keys())
      if (!waiting.has(queue)) this.quietSince.delete(queue);
    const due: string[] = [];
    for (const queue of waiting.keys()) {
      const since = this.quietSince.get(queue) ?? now;
      this.quietSince.set(queue, since);
      if (now - since >= this.o.afterMs) due.push(queue);
    }
    const unserved: string[] = [];
    for (const queue of due) {
      // a Redis that does not answer is the health check's to say
      const workers = await withTimeout(this.o.workersOf(queue), 5000).catch(() => undefined);
      if (workers === undefined) continue;
      if (workers > 0) {
        // served, by workers busy with other jobs: look again after another while
        this.told.delete(queue);
        this.quietSince.set(queue, now);
      } else if (!this.told.has(queue)) unserved.push(queue);
    }
    if (unserved.length === 0) return;
    for (const queue of unserved) this.told.add(queue);
    this.o.say(unservedLine(unserved, waiting, this.o.afterMs, this.o.safeUrl));
  }
}

/**
 * `no worker serves this run's jobs waiting in Redis for 10s: 3 jobs without a pool,
 * 1 of pool "net"; start one with: jobrun worker redis://… --pool '*'`.
 */
function unservedLine(
  queues: string[],
  waiting: Map<string, number>,
  afterMs: number,
  url: string,
): string {
  const what = queues.map((queue) => {
    const n = waiting.get(queue) ?? 0;
    const jobs = `${n} job${n === 1 ? '' : 's'}`;
    const pool = poolOfQueue(queue);
    return pool === undefined ? `${jobs} without a pool` : `${jobs} of pool "${pool}"`;
  });
  return (
    `no worker serves this run's jobs waiting in Redis for ${seconds(afterMs)}: ` +
    `${what.join(', ')}; start one with: jobrun worker ${url} --pool '*'`
  );
}
