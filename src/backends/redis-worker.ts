import os from 'node:os';
import { Redis } from 'ioredis';
import { createLocalExecutor } from '../exec/local-executor.js';
import type { Executor } from '../exec/types.js';
import type { GateOptions } from '../core/gates.js';
import type { WorkerMetrics } from './metrics.js';
import { bullConnection, describe } from './redis-connect.js';
import { CANCEL_CHANNEL, queueName } from './redis-names.js';
import type { RedisTarget } from './redis-url.js';
import { OutputWriter } from './redis-output.js';
import { WorkerSlots } from './worker-slots.js';
import { PoolCaps } from './pool-caps.js';
import { LockWatch } from './lock-watch.js';
import { RunCaps } from './redis-run-cap.js';
import { Admission, poolKey } from './redis-worker-admit.js';
import { AttemptRunner } from './redis-worker-attempt.js';
import { WorkerJobs, listenForControl } from './redis-worker-jobs.js';
import { DEFAULT_LOCK_MS, ServedQueues } from './redis-worker-queues.js';
import type { WorkerCache } from './worker-cache.js';

export { logDirFor } from './redis-worker-attempt.js';

export interface WorkerOptions {
  target: RedisTarget;
  /** At most this many jobs at once, across every queue served. */
  concurrency: number;
  /** `--delay`, `--max-load`, `--min-free-mem`, checked on this machine before each start. */
  gate?: GateOptions;
  /** Pools to serve; none means pool-less jobs only; `'*'` means every queue. */
  pools: string[] | '*';
  /** Folder under which each run's logs go (`<logRoot>/<run key>/…`). */
  logRoot: string;
  /** What a job's relative `cwd` is resolved against. */
  baseDir: string;
  /** How long a job's lock lives without renewal: how soon a dead worker's job moves on. */
  lockDurationMs?: number;
  /** How often this worker looks for jobs whose lock lapsed (their worker died). */
  stallCheckMs?: number;
  /** `--pool cpu=1`: at most this many of a pool's jobs at once on this worker. */
  poolCaps?: Record<string, number>;
  /** How often `--pool '*'` looks for new pools. */
  discoverMs?: number;
  executor?: Executor;
  metrics?: WorkerMetrics;
  /** One line per notable thing (start, end, refusal); the CLI prints them to stderr. */
  log?: (line: string) => void;
  /** `host:pid`; the slot number is appended per attempt. */
  label?: string;
  /** `--cache-dir`: where jobs with `cache` are looked up and stored (`worker-cache.ts`). */
  cache?: WorkerCache;
}

/**
 * `jobrun worker`: BullMQ workers, one per queue served, each running jobs with the
 * local executor (process groups, timeouts, log files, output tail). Wired from small
 * parts: `ServedQueues` (BullMQ), `Admission` (whether and when a job starts),
 * `AttemptRunner` (one attempt and its progress messages), `WorkerJobs` (the jobs held
 * here, and the control messages that act on them).
 */
export class JobrunWorker {
  private readonly jobs: WorkerJobs;
  private readonly slots: WorkerSlots;
  private readonly caps: PoolCaps;
  private readonly executor: Executor;
  private readonly label: string;
  private readonly log: (line: string) => void;
  private readonly served: ServedQueues;
  private admission: Admission | undefined;
  private subscriber: Redis | undefined;
  /** Commands outside BullMQ: pool discovery, cancel marks, output lines. */
  private registry: Redis | undefined;
  private lockWatch: LockWatch | undefined;
  private runCaps: RunCaps | undefined;
  private discoverTimer: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: WorkerOptions) {
    this.executor = options.executor ?? createLocalExecutor();
    this.label = options.label ?? `${os.hostname()}:${process.pid}`;
    this.log = options.log ?? (() => {});
    this.slots = new WorkerSlots(options.concurrency, options.gate);
    this.caps = new PoolCaps(options.poolCaps);
    this.jobs = new WorkerJobs(this.log);
    this.served = new ServedQueues({
      target: options.target,
      concurrency: options.concurrency,
      capOf: (queue) => this.caps.capOf(poolKey(queue), undefined),
      lockDurationMs: options.lockDurationMs,
      stallCheckMs: options.stallCheckMs,
      process: (queue, job) => {
        if (!this.admission) throw new Error('worker not started');
        return this.admission.process(queue, job);
      },
      lockLost: (ids) => this.jobs.lockLost(ids),
      log: this.log,
    });
  }

  /**
   * Kills every running job's process group at once, synchronously: for the CLI's
   * exit hook and fatal signals, so no job outlives its worker and later runs twice.
   */
  killAll(): void {
    this.jobs.killAll();
  }

  get draining(): boolean {
    return this.closing !== undefined;
  }

  /** Connects and starts taking jobs. */
  async start(): Promise<void> {
    const { options } = this;
    const connection = bullConnection(options.target);
    const subscriber = new Redis(connection);
    this.subscriber = subscriber;
    subscriber.on('error', () => {});
    await listenForControl(subscriber, CANCEL_CHANNEL, this.jobs);
    const registry = new Redis(connection);
    this.registry = registry;
    registry.on('error', () => {});
    const runner = new AttemptRunner({
      executor: this.executor,
      label: this.label,
      logRoot: options.logRoot,
      baseDir: options.baseDir,
      target: options.target,
      jobs: this.jobs,
      output: new OutputWriter(registry),
      metrics: options.metrics,
      log: this.log,
    });
    this.runCaps = new RunCaps(registry, options.lockDurationMs ?? DEFAULT_LOCK_MS);
    this.admission = new Admission({
      label: this.label,
      caps: this.caps,
      slots: this.slots,
      jobs: this.jobs,
      runner,
      runCaps: this.runCaps,
      describe: (err) => describe(err, options.target),
      lowerFetch: (queue, cap) => this.served.lowerFetch(queue, cap),
      log: this.log,
      cache: options.cache,
    });
    this.lockWatch = new LockWatch(registry, options.lockDurationMs ?? DEFAULT_LOCK_MS, () =>
      this.jobs.lockLost(this.jobs.runningIds()),
    );
    const { pools } = options;
    if (pools === '*') {
      await this.discover();
      this.discoverTimer = setInterval(() => void this.discover(), options.discoverMs ?? 1000);
    } else if (pools.length === 0) {
      this.served.serve(queueName(undefined));
    } else {
      for (const pool of pools) this.served.serve(queueName(pool));
    }
    await this.served.ready();
  }

  /** Queue depth per pool served, for the metrics. */
  depth(): Promise<Array<{ pool: string; depth: number }>> {
    return this.served.depth();
  }

  /**
   * Drains: takes no new jobs and waits for running ones to finish. With `force`,
   * running jobs are killed at once and left to BullMQ's stalled-job recovery, which
   * hands them to another worker once this one's locks expire.
   */
  close(force = false): Promise<void> {
    if (this.discoverTimer) clearInterval(this.discoverTimer);
    this.lockWatch?.stop();
    this.runCaps?.stop();
    if (force) this.jobs.abandonAll();
    const previous = this.closing;
    this.closing = (async () => {
      await this.served.close(force, previous);
      this.subscriber?.disconnect();
      this.registry?.disconnect();
    })();
    return this.closing;
  }

  private async discover(): Promise<void> {
    if (this.closing || !this.registry) return;
    await this.served.discover(this.registry, () => this.closing !== undefined);
  }
}
