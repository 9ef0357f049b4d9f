import { Queue, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AttemptResult } from '../model/attempt.js';
import { bullConnection, describe } from './redis-connect.js';
import { POOLS_KEY, PREFIX, badPoolName, poolOfQueue, queueName } from './redis-names.js';
import type { RedisTarget } from './redis-url.js';
import { AttemptFailed } from './redis-worker-attempt.js';

/**
 * Defaults that find a dead worker's job within ~13 s: its lock lapses at most 10 s
 * after the last renewal (renewed every 5 s), and the next stall check (every 3 s)
 * hands it back to the queue.
 */
export const DEFAULT_LOCK_MS = 10_000;
const DEFAULT_STALL_CHECK_MS = 3_000;
/** BullMQ's own limit on losses, above any `lost_retries`: each job's is checked here. */
const MAX_STALLED = 1000;

export interface ServedQueuesOptions {
  target: RedisTarget;
  /** BullMQ's fetch limit per queue: the worker's `-j`, or lower by `capOf`. */
  concurrency: number;
  capOf: (queue: string) => number;
  lockDurationMs?: number;
  stallCheckMs?: number;
  /** Runs one job BullMQ handed over. */
  process: (queue: string, job: Job) => Promise<AttemptResult>;
  /** BullMQ could not renew these jobs' locks. */
  lockLost: (ids: string[]) => void;
  log: (line: string) => void;
}

/**
 * The BullMQ side of a worker: one BullMQ `Worker` (and a `Queue`, for depth) per queue
 * served, created at start or as `--pool '*'` discovers pools in the registry.
 */
export class ServedQueues {
  readonly workers = new Map<string, Worker>();
  private readonly queues = new Map<string, Queue>();
  private readonly badPools = new Set<string>();

  constructor(private readonly o: ServedQueuesOptions) {}

  serve(name: string): void {
    const connection = bullConnection(this.o.target);
    const worker = new Worker(name, (job) => this.o.process(name, job), {
      connection,
      prefix: PREFIX,
      // each queue may fill the whole worker (or its pool's cap); WorkerSlots holds the
      // total to -j
      concurrency: Math.min(this.o.concurrency, this.o.capOf(name)),
      lockDuration: this.o.lockDurationMs ?? DEFAULT_LOCK_MS,
      stalledInterval: this.o.stallCheckMs ?? DEFAULT_STALL_CHECK_MS,
      maxStalledCount: MAX_STALLED,
      settings: {
        backoffStrategy: (_made: number, _type?: string, err?: Error) =>
          err instanceof AttemptFailed ? err.retryInMs : 0,
      },
    });
    let lastError = '';
    worker.on('error', (err) => {
      const text = describe(err, this.o.target);
      if (text !== lastError) this.o.log(`queue ${name}: ${text}`);
      lastError = text;
    });
    worker.on('lockRenewalFailed', (ids) => this.o.lockLost(ids));
    this.workers.set(name, worker);
    const queue = new Queue(name, { connection, prefix: PREFIX });
    queue.on('error', () => {});
    this.queues.set(name, queue);
  }

  /** Serves every valid pool listed in the registry that is not served yet. */
  async discover(registry: Redis, closing: () => boolean): Promise<void> {
    try {
      for (const name of await registry.smembers(POOLS_KEY)) {
        if (this.workers.has(name) || closing() || this.badPools.has(name)) continue;
        // one bad entry must not stop the pools listed after it
        const bad =
          name === queueName(undefined)
            ? undefined
            : name.startsWith('pool.')
              ? badPoolName(name.slice('pool.'.length))
              : 'not a jobrun queue name';
        if (bad) {
          this.badPools.add(name);
          this.o.log(`skipping queue "${name}" listed in ${POOLS_KEY}: ${bad}`);
          continue;
        }
        this.serve(name);
      }
    } catch (err) {
      this.o.log(`cannot list pools: ${describe(err, this.o.target)}`);
    }
  }

  /** Fetches no more than `cap` of the queue's jobs at once from now on. */
  lowerFetch(name: string, cap: number): void {
    const worker = this.workers.get(name);
    if (worker && cap < worker.concurrency) worker.concurrency = cap;
  }

  ready(): Promise<unknown> {
    return Promise.all([...this.workers.values()].map((w) => w.waitUntilReady()));
  }

  /** Queue depth per pool served, for the metrics. */
  async depth(): Promise<Array<{ pool: string; depth: number }>> {
    return Promise.all(
      [...this.queues].map(async ([name, queue]) => {
        const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed');
        const depth = Object.values(counts).reduce((a, b) => a + b, 0);
        return { pool: poolOfQueue(name) ?? 'default', depth };
      }),
    );
  }

  /** Stops fetching (`force`: without waiting for running jobs), then waits for `before`. */
  async close(force: boolean, before: Promise<void> | undefined): Promise<void> {
    const workers = [...this.workers.values()];
    await Promise.all(workers.map((w) => w.close(force).catch(() => {})));
    await before?.catch(() => {});
    await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
  }
}
