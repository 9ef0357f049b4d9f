import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { attemptSucceeded, type AttemptResult } from '../model/attempt.js';
import { attemptEnding } from '../model/outcome.js';
import { backoffDelay } from '../core/backoff.js';
import { logPathFor } from '../core/log-path.js';
import { Slots } from '../core/slots.js';
import { createLocalExecutor } from '../exec/local-executor.js';
import type { Executor, RunningAttempt } from '../exec/types.js';
import type { WorkerMetrics } from './metrics.js';
import { parsePayload, specFromPayload, type WorkerMessage } from './payload.js';
import { bullConnection, describe } from './redis-connect.js';
import { CANCEL_CHANNEL, POOLS_KEY, PREFIX, poolOfQueue, queueName } from './redis-names.js';
import type { RedisTarget } from './redis-url.js';

export interface WorkerOptions {
  target: RedisTarget;
  /** At most this many jobs at once from each queue served. */
  concurrency: number;
  /** Pools to serve; none means pool-less jobs only; `'*'` means every queue. */
  pools: string[] | '*';
  /** Folder under which each run's logs go (`<logRoot>/<run key>/…`). */
  logRoot: string;
  /** What a job's relative `cwd` is resolved against. */
  baseDir: string;
  /** How long a job's lock lives without renewal: how soon a dead worker's job moves on. */
  lockDurationMs?: number;
  /** How often `--pool '*'` looks for new pools. */
  discoverMs?: number;
  executor?: Executor;
  metrics?: WorkerMetrics;
  /** One line per notable thing (start, end, refusal); the CLI prints them to stderr. */
  log?: (line: string) => void;
  /** `host:pid`; the slot number is appended per attempt. */
  label?: string;
}

/** The failure of one attempt, carrying the backoff the worker chose for the retry. */
class AttemptFailed extends Error {
  constructor(
    message: string,
    readonly retryInMs: number,
  ) {
    super(message);
    this.name = 'AttemptFailed';
  }
}

interface Running {
  handle: RunningAttempt;
  cancelled: boolean;
}

/**
 * `jobrun worker`: BullMQ workers, one per queue served, each running jobs with the
 * local executor (process groups, timeouts, log files, output tail). Every payload is
 * validated before anything runs; an invalid one fails at once, without retries.
 * Progress messages (`start`, `end`) tell the coordinator about each attempt.
 */
export class JobrunWorker {
  private readonly workers = new Map<string, Worker>();
  private readonly queues = new Map<string, Queue>();
  private readonly running = new Map<string, Running>();
  private readonly slots = new Slots();
  private readonly executor: Executor;
  private readonly label: string;
  private readonly log: (line: string) => void;
  private subscriber: Redis | undefined;
  private registry: Redis | undefined;
  private discoverTimer: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;
  /** Forced shutdown: attempts are killed and left unreported, for stalled-job recovery. */
  private abandoned = false;

  constructor(private readonly options: WorkerOptions) {
    this.executor = options.executor ?? createLocalExecutor();
    this.label = options.label ?? `${os.hostname()}:${process.pid}`;
    this.log = options.log ?? (() => {});
  }

  get serving(): string[] {
    return [...this.workers.keys()];
  }

  get draining(): boolean {
    return this.closing !== undefined;
  }

  /** Connects and starts taking jobs. */
  async start(): Promise<void> {
    const connection = bullConnection(this.options.target);
    this.subscriber = new Redis(connection);
    this.subscriber.on('error', () => {});
    this.subscriber.on('message', (_channel: string, text: string) => this.onCancel(text));
    await this.subscriber.subscribe(CANCEL_CHANNEL);
    const { pools } = this.options;
    if (pools === '*') {
      this.registry = new Redis(connection);
      this.registry.on('error', () => {});
      await this.discover();
      this.discoverTimer = setInterval(() => void this.discover(), this.options.discoverMs ?? 1000);
    } else if (pools.length === 0) {
      this.serve(queueName(undefined));
    } else {
      for (const pool of pools) this.serve(queueName(pool));
    }
    await Promise.all([...this.workers.values()].map((w) => w.waitUntilReady()));
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

  /**
   * Drains: takes no new jobs and waits for running ones to finish. With `force`,
   * running jobs are killed at once and left to BullMQ's stalled-job recovery, which
   * hands them to another worker once this one's locks expire.
   */
  close(force = false): Promise<void> {
    if (this.discoverTimer) clearInterval(this.discoverTimer);
    if (force) {
      this.abandoned = true;
      for (const r of this.running.values()) r.handle.stop(true);
    }
    const workers = [...this.workers.values()];
    const previous = this.closing;
    this.closing = (async () => {
      await Promise.all(workers.map((w) => w.close(force).catch(() => {})));
      await previous?.catch(() => {});
      await Promise.all([...this.queues.values()].map((q) => q.close().catch(() => {})));
      this.subscriber?.disconnect();
      this.registry?.disconnect();
    })();
    return this.closing;
  }

  private async discover(): Promise<void> {
    if (this.closing || !this.registry) return;
    try {
      for (const name of await this.registry.smembers(POOLS_KEY)) {
        if (!this.workers.has(name) && !this.closing) this.serve(name);
      }
    } catch (err) {
      this.log(`cannot list pools: ${describe(err, this.options.target)}`);
    }
  }

  private serve(name: string): void {
    const lockDuration = this.options.lockDurationMs ?? 30_000;
    const connection = bullConnection(this.options.target);
    const worker = new Worker(name, (job, token) => this.process(name, job, token), {
      connection,
      prefix: PREFIX,
      concurrency: this.options.concurrency,
      lockDuration,
      stalledInterval: lockDuration,
      maxStalledCount: 2,
      settings: {
        backoffStrategy: (_made: number, _type?: string, err?: Error) =>
          err instanceof AttemptFailed ? err.retryInMs : 0,
      },
    });
    let lastError = '';
    worker.on('error', (err) => {
      const text = describe(err, this.options.target);
      if (text !== lastError) this.log(`queue ${name}: ${text}`);
      lastError = text;
    });
    this.workers.set(name, worker);
    const queue = new Queue(name, { connection, prefix: PREFIX });
    queue.on('error', () => {});
    this.queues.set(name, queue);
  }

  private async process(queue: string, job: Job, _token?: string): Promise<AttemptResult> {
    const parsed = parsePayload(job.data);
    if ('reason' in parsed) {
      this.log(`refused job ${job.id ?? '?'} from ${queue}: ${parsed.reason}`);
      throw new UnrecoverableError(`worker ${this.label} refused the job: ${parsed.reason}`);
    }
    const p = parsed.payload;
    const pool = p.pool ?? 'default';
    const spec = specFromPayload(p, this.options.baseDir);
    const attempt = Math.max(1, job.attemptsStarted);
    const slot = this.slots.take();
    const worker = `${this.label}/${slot + 1}`;
    const id = job.id ?? '';
    try {
      const logDir = path.join(this.options.logRoot, p.runKey.replace(/[^A-Za-z0-9._-]/g, '_'));
      fs.mkdirSync(logDir, { recursive: true });
      const startedAt = Date.now();
      const handle = this.executor.start({
        job: spec,
        attempt,
        timeoutMs: p.timeoutMs,
        logPath: logPathFor(logDir, p.name, p.index, attempt),
        worker,
      });
      const entry: Running = { handle, cancelled: false };
      this.running.set(id, entry);
      this.options.metrics?.attemptStarted(pool);
      this.log(`start ${p.name} (attempt ${attempt}) on ${worker}`);
      await handle.started;
      await this.report(job, { kind: 'start', attempt, worker, pid: handle.pid, startedAt });
      const result = await handle.result;
      // never settle: the lock lapses and another worker gets the job
      if (this.abandoned) return await new Promise<never>(() => {});
      this.options.metrics?.attemptEnded(pool, result);
      this.log(`end ${p.name}: ${attemptEnding(result).text} in ${result.durationMs}ms`);
      if (entry.cancelled) {
        await this.report(job, { kind: 'end', result });
        throw new UnrecoverableError('stopped at the coordinator’s request');
      }
      if (attemptSucceeded(result)) return result;
      const retries = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
      const retryInMs = retries ? backoffDelay(p.backoff, job.attemptsMade + 2) : undefined;
      await this.report(job, { kind: 'end', result, retryInMs });
      throw new AttemptFailed(`${p.name}: ${attemptEnding(result).text}`, retryInMs ?? 0);
    } finally {
      this.running.delete(id);
      this.slots.release(slot);
    }
  }

  /** Progress is how attempts reach the coordinator; losing one must not fail the job. */
  private async report(job: Job, message: WorkerMessage): Promise<void> {
    try {
      await job.updateProgress(message);
    } catch (err) {
      this.log(`cannot report on ${job.id ?? '?'}: ${describe(err, this.options.target)}`);
    }
  }

  private onCancel(text: string): void {
    let request: { jobId?: unknown; immediate?: unknown };
    try {
      request = JSON.parse(text) as typeof request;
    } catch {
      return;
    }
    const entry = typeof request.jobId === 'string' ? this.running.get(request.jobId) : undefined;
    if (!entry) return;
    entry.cancelled = true;
    entry.handle.stop(request.immediate === true);
  }
}
