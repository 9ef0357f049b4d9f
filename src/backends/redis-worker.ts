import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { attemptSucceeded, worthRetrying, type AttemptResult } from '../model/attempt.js';
import { attemptEnding } from '../model/outcome.js';
import { backoffDelay } from '../core/backoff.js';
import { logPathFor } from '../core/log-path.js';
import { createLocalExecutor } from '../exec/local-executor.js';
import { killGroup } from '../exec/kill.js';
import type { Executor, RunningAttempt } from '../exec/types.js';
import type { WorkerMetrics } from './metrics.js';
import { attemptVariables } from '../model/job-env.js';
import { parsePayload, specFromPayload, type JobPayload, type WorkerMessage } from './payload.js';
import { decodeCancel } from './redis-cancel.js';
import { bullConnection, describe } from './redis-connect.js';
import {
  CANCEL_CHANNEL,
  POOLS_KEY,
  PREFIX,
  badPoolName,
  cancelledKey,
  poolOfQueue,
  queueName,
} from './redis-names.js';
import type { RedisTarget } from './redis-url.js';
import type { GateOptions } from '../core/gates.js';
import { OutputWriter } from './redis-output.js';
import { WorkerSlots } from './worker-slots.js';
import { DEFAULT_LOST_RETRIES, PoolCaps } from './pool-caps.js';
import { LockWatch } from './lock-watch.js';
import type { CacheLookup, WorkerCache } from './worker-cache.js';

/**
 * Defaults that find a dead worker's job within ~13 s: its lock lapses at most 10 s
 * after the last renewal (renewed every 5 s), and the next stall check (every 3 s)
 * hands it back to the queue.
 */
const DEFAULT_LOCK_MS = 10_000;
const DEFAULT_STALL_CHECK_MS = 3_000;
/** BullMQ's own limit on losses, above any `lost_retries`: each job's is checked here. */
const MAX_STALLED = 1000;

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
  /** The coordinator asked to stop it (Ctrl-C, `--halt now`). */
  cancelled: boolean;
  /** Its lock could not be renewed: another worker may own the job now. */
  lockLost: boolean;
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
  /** Jobs fetched and not started yet (waiting for a slot): set when asked to drop them. */
  private readonly held = new Map<string, { cancelled: boolean }>();
  private readonly slots: WorkerSlots;
  private readonly caps: PoolCaps;
  private readonly executor: Executor;
  private readonly label: string;
  private readonly log: (line: string) => void;
  private subscriber: Redis | undefined;
  /** Commands outside BullMQ: pool discovery, cancel marks, output lines. */
  private registry: Redis | undefined;
  private output: OutputWriter | undefined;
  private lockWatch: LockWatch | undefined;
  private readonly badPools = new Set<string>();
  private discoverTimer: ReturnType<typeof setInterval> | undefined;
  private closing: Promise<void> | undefined;
  /** Forced shutdown: attempts are killed and left unreported, for stalled-job recovery. */
  private abandoned = false;

  constructor(private readonly options: WorkerOptions) {
    this.executor = options.executor ?? createLocalExecutor();
    this.label = options.label ?? `${os.hostname()}:${process.pid}`;
    this.log = options.log ?? (() => {});
    this.slots = new WorkerSlots(options.concurrency, options.gate);
    this.caps = new PoolCaps(options.poolCaps);
  }

  /**
   * Kills every running job's process group at once, synchronously: for the CLI's
   * exit hook and fatal signals, so no job outlives its worker and later runs twice.
   */
  killAll(): void {
    for (const { handle } of this.running.values()) killGroup(handle.pid, 'SIGKILL');
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
    this.registry = new Redis(connection);
    this.registry.on('error', () => {});
    this.output = new OutputWriter(this.registry);
    this.lockWatch = new LockWatch(
      this.registry,
      this.options.lockDurationMs ?? DEFAULT_LOCK_MS,
      () => this.lockLost([...this.running.keys()]),
    );
    const { pools } = this.options;
    if (pools === '*') {
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
    this.lockWatch?.stop();
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
        if (this.workers.has(name) || this.closing || this.badPools.has(name)) continue;
        // one bad entry must not stop the pools listed after it
        const bad =
          name === queueName(undefined)
            ? undefined
            : name.startsWith('pool.')
              ? badPoolName(name.slice('pool.'.length))
              : 'not a jobrun queue name';
        if (bad) {
          this.badPools.add(name);
          this.log(`skipping queue "${name}" listed in ${POOLS_KEY}: ${bad}`);
          continue;
        }
        this.serve(name);
      }
    } catch (err) {
      this.log(`cannot list pools: ${describe(err, this.options.target)}`);
    }
  }

  private serve(name: string): void {
    const lockDuration = this.options.lockDurationMs ?? DEFAULT_LOCK_MS;
    const connection = bullConnection(this.options.target);
    const worker = new Worker(name, (job, token) => this.process(name, job, token), {
      connection,
      prefix: PREFIX,
      // each queue may fill the whole worker (or its pool's cap); WorkerSlots holds the
      // total to -j
      concurrency: Math.min(this.options.concurrency, this.caps.capOf(poolKey(name), undefined)),
      lockDuration,
      stalledInterval: this.options.stallCheckMs ?? DEFAULT_STALL_CHECK_MS,
      maxStalledCount: MAX_STALLED,
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
    worker.on('lockRenewalFailed', (ids) => this.lockLost(ids));
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
    const lostRetries = p.lostRetries ?? DEFAULT_LOST_RETRIES;
    if (job.stalledCounter > lostRetries) {
      this.log(`refused ${p.name}: lost with its worker ${job.stalledCounter} times`);
      throw new UnrecoverableError(
        `not run again: lost with its worker ${job.stalledCounter} times (lost_retries: ${lostRetries})`,
      );
    }
    const id = job.id ?? '';
    const held = { cancelled: false };
    this.held.set(id, held);
    const pool = poolKey(queue);
    const cap = this.caps.capOf(pool, p.perWorker);
    // fetch no more of this pool than may run here: the rest stay for other workers
    const worker = this.workers.get(queue);
    if (worker && cap < worker.concurrency) worker.concurrency = cap;
    await this.caps.acquire(pool, cap);
    try {
      const slot = await this.slots.acquire();
      try {
        const attempt = Math.max(1, job.attemptsStarted);
        const lookup = await this.options.cache?.lookup(p, attempt, `${this.label}/${slot + 1}`);
        if (lookup?.hit) return lookup.hit;
        // checked after the wait for a slot, the last thing before the start: a run
        // stopped meanwhile (its mark, or a cancel message for this job) starts nothing
        if (held.cancelled || (await this.runCancelled(p.runKey)) || held.cancelled) {
          this.log(`skip ${p.name}: its run was cancelled`);
          throw new UnrecoverableError('its run was cancelled before a worker started it');
        }
        this.held.delete(id);
        return await this.runAttempt(job, id, p, slot, lookup);
      } finally {
        this.running.delete(id);
        this.slots.release(slot);
      }
    } finally {
      this.held.delete(id);
      this.caps.release(pool);
    }
  }

  private async runAttempt(
    job: Job,
    id: string,
    p: JobPayload,
    slot: number,
    lookup?: CacheLookup,
  ): Promise<AttemptResult> {
    const pool = p.pool ?? 'default';
    const payloadSpec = specFromPayload(p, this.options.baseDir);
    const attempt = Math.max(1, job.attemptsStarted);
    const env = { ...payloadSpec.env, ...attemptVariables(attempt, slot + 1, this.label) };
    const spec = { ...payloadSpec, env };
    const worker = `${this.label}/${slot + 1}`;
    const logDir = logDirFor(this.options.logRoot, p.runKey);
    fs.mkdirSync(logDir, { recursive: true });
    const startedAt = Date.now();
    const output = p.output ? this.output : undefined;
    const handle = this.executor.start({
      job: spec,
      attempt,
      timeoutMs: p.timeoutMs,
      logPath: logPathFor(logDir, p.name, p.index, attempt),
      worker,
      onLine: output
        ? (stream, line) => output.line(p.runKey, id, worker, attempt, stream, line)
        : undefined,
    });
    const entry: Running = { handle, cancelled: false, lockLost: false };
    this.running.set(id, entry);
    this.options.metrics?.attemptStarted(pool);
    await handle.started; // a spawner process tells the pid a moment later
    const why = lookup?.why ? { why: lookup.why } : {};
    await this.report(job, { kind: 'start', attempt, worker, pid: handle.pid, startedAt, ...why });
    // after the report: once this line shows, the coordinator has been told
    this.log(`start ${p.name} (attempt ${attempt}) on ${worker}`);
    const result = await handle.result;
    await output?.flush();
    // never settle: the lock lapses and another worker gets the job
    if (this.abandoned) return await new Promise<never>(() => {});
    this.options.metrics?.attemptEnded(pool, result);
    this.log(`end ${p.name}: ${attemptEnding(result).text} in ${result.durationMs}ms`);
    if (entry.lockLost) {
      // the job may belong to another worker now: report nothing on it
      this.options.metrics?.attemptLockLost(pool);
      throw new Error(`${p.name}: stopped, this worker lost the job's lock`);
    }
    if (entry.cancelled) {
      await this.report(job, { kind: 'end', result });
      throw new UnrecoverableError('stopped at the coordinator’s request');
    }
    if (attemptSucceeded(result)) return lookup ? await lookup.stored(result) : result;
    const retries = worthRetrying(result) && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    const retryInMs = retries ? backoffDelay(p.backoff, job.attemptsMade + 2) : undefined;
    await this.report(job, { kind: 'end', result, retryInMs });
    // a command that cannot run (126/127) ends the job whatever attempts are left
    if (!worthRetrying(result))
      throw new UnrecoverableError(`${p.name}: ${attemptEnding(result).text}`);
    throw new AttemptFailed(`${p.name}: ${attemptEnding(result).text}`, retryInMs ?? 0);
  }

  /** Whether the coordinator marked the run cancelled; unreadable counts as not. */
  private async runCancelled(runKey: string): Promise<boolean> {
    try {
      return (await this.registry!.exists(cancelledKey(runKey))) === 1;
    } catch (err) {
      this.log(
        `cannot check whether run ${runKey} was cancelled: ${describe(err, this.options.target)}`,
      );
      throw err;
    }
  }

  /**
   * BullMQ could not renew these jobs' locks (this process was stopped, paused by a long
   * GC, or cut off from Redis): another worker may already run them, so ours stop now
   * rather than finish and fail on "Missing lock".
   */
  private lockLost(ids: string[]): void {
    for (const id of ids) {
      const entry = this.running.get(id);
      if (!entry || entry.lockLost) continue;
      entry.lockLost = true;
      entry.handle.stop(false); // TERM, then KILL after the job's grace
      this.log(`lost the lock on job ${id}: stopped it; the queue may give it to another worker`);
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
    const request = decodeCancel(text);
    for (const id of request?.jobIds ?? []) {
      const held = this.held.get(id);
      if (held) held.cancelled = true;
      const entry = this.running.get(id);
      if (!entry) continue;
      entry.cancelled = true;
      entry.handle.stop(request?.immediate === true);
    }
  }
}

/** The pool a queue serves, as caps name it (`default` for pool-less jobs). */
function poolKey(queue: string): string {
  return poolOfQueue(queue) ?? 'default';
}

/**
 * A run's log folder on this worker: `<logRoot>/<runKey>`. The payload's run key is
 * validated to be one plain folder name; this checks once more that nothing a payload
 * says can place a file outside `logRoot`.
 */
export function logDirFor(logRoot: string, runKey: string): string {
  const root = path.resolve(logRoot);
  const dir = path.resolve(root, runKey);
  if (path.dirname(dir) !== root) throw new UnrecoverableError(`bad run key "${runKey}"`);
  return dir;
}
