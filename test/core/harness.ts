import { vi } from 'vitest';
import { parseHalt } from '../../src/core/halt.js';
import { Scheduler, type SchedulerOptions } from '../../src/core/scheduler.js';
import type { AttemptResult } from '../../src/model/attempt.js';
import type { RunEvent, RunEventMap, RunEventType } from '../../src/model/events.js';
import type { JobSpec } from '../../src/model/job.js';
import type { ExecRequest, Executor, RunningAttempt } from '../../src/exec/types.js';

/** One scripted attempt: how long it "runs" and how it ends. */
export interface Step {
  ms?: number;
  exit?: number;
  timedOut?: boolean;
}

export function job(name: string, extra: Partial<JobSpec> = {}, index = 0): JobSpec {
  return {
    name,
    command: `run ${name}`,
    index,
    priority: 0,
    needs: [],
    killGraceMs: 1000,
    retries: 0,
    backoff: { delayMs: 1000, factor: 2, maxMs: 60_000, jitter: false },
    shell: '/bin/sh',
    cwd: '/',
    env: {},
    allowFailure: false,
    ...extra,
  };
}

/** Jobs numbered in the order given, so file order is the array order. */
export function jobs(...specs: Array<[string, Partial<JobSpec>?]>): JobSpec[] {
  return specs.map(([name, extra], index) => job(name, extra, index));
}

/**
 * An executor whose attempts follow a script per job name and take fake time.
 * It records every start, the peak concurrency, and each request.
 */
export class FakeExecutor implements Executor {
  readonly starts: string[] = [];
  readonly requests: ExecRequest[] = [];
  readonly stops: Array<{ name: string; immediate: boolean }> = [];
  running = 0;
  peak = 0;
  readonly runningByPool = new Map<string, number>();
  peakByPool = new Map<string, number>();

  constructor(private readonly script: Record<string, Step[]> = {}) {}

  start(req: ExecRequest): RunningAttempt {
    const name = req.job.name;
    this.starts.push(name);
    this.requests.push(req);
    this.running++;
    this.peak = Math.max(this.peak, this.running);
    const pool = req.job.pool ?? '';
    this.runningByPool.set(pool, (this.runningByPool.get(pool) ?? 0) + 1);
    this.peakByPool.set(
      pool,
      Math.max(this.peakByPool.get(pool) ?? 0, this.runningByPool.get(pool)!),
    );
    const step = this.script[name]?.[req.attempt - 1] ?? this.script[name]?.at(-1) ?? {};
    const startedAt = Date.now();
    let settle!: (r: AttemptResult) => void;
    const result = new Promise<AttemptResult>((resolve) => (settle = resolve));
    const finish = (extra: Partial<AttemptResult>) => {
      if (!timer) return;
      clearTimeout(timer);
      timer = undefined;
      this.running--;
      this.runningByPool.set(pool, this.runningByPool.get(pool)! - 1);
      settle({
        attempt: req.attempt,
        startedAt,
        durationMs: Date.now() - startedAt,
        timedOut: false,
        worker: req.worker,
        ...extra,
      });
    };
    let timer: ReturnType<typeof setTimeout> | undefined = setTimeout(
      () =>
        finish(
          step.timedOut ? { timedOut: true, signal: 'SIGTERM' } : { exitCode: step.exit ?? 0 },
        ),
      step.ms ?? 10,
    );
    return {
      result,
      pid: 1000 + this.starts.length,
      stop: (immediate = false) => {
        this.stops.push({ name, immediate });
        finish({ signal: immediate ? 'SIGKILL' : 'SIGTERM' });
      },
    };
  }
}

/** Collects emitted events in order. */
export class EventLog {
  readonly events: RunEvent[] = [];
  readonly emit = <K extends RunEventType>(type: K, payload: RunEventMap[K]) => {
    this.events.push({ type, time: Date.now(), ...payload } as unknown as RunEvent);
  };

  of<K extends RunEventType>(type: K): RunEvent<K>[] {
    return this.events.filter((e) => e.type === type) as unknown as RunEvent<K>[];
  }

  ended(name: string) {
    const e = this.of('job_end').find((x) => x.job.name === name);
    if (!e) throw new Error(`job ${name} never ended`);
    return e.job;
  }
}

/** Scheduler options every property test shares: a small pool `p`, fifo, one event log. */
export function propertyOptions(log: EventLog, executor: Executor, workers: number, halt?: string) {
  return {
    runId: 'prop',
    manifestPath: null,
    logDir: '/tmp',
    workers: { min: 1, max: workers },
    pools: { p: { workers: 1 } },
    order: 'fifo' as const,
    executor,
    emit: log.emit,
    halt: halt ? parseHalt(halt) : undefined,
  };
}

/**
 * A FakeExecutor that queues attempts behind a running one, as the spawner does: up to
 * `depth` in a chain, each starting as the one ahead ends with exit 0; after a failure
 * every one of them is handed back (`taken` false); `stop()` or `withdraw()` of any
 * of them withdraws them all, as the spawner's one withdrawal does.
 */
export class QueueingFakeExecutor extends FakeExecutor {
  private readonly behind = new Set<RunningAttempt>();
  /** Each attempt's slot: the withdrawals of the attempts queued there, not started yet. */
  private readonly chains = new Map<RunningAttempt, Array<() => void>>();
  /** How many attempts may wait behind one running attempt (the spawner's `QUEUE_DEPTH`). */
  depth = 1;
  /** Attempts that were queued behind another. */
  queued = 0;
  /** Most attempts that waited behind one running attempt at once. */
  peakDepth = 0;
  /** Queued attempts jobrun withdrew (`withdraw()`), by job name. */
  readonly withdrawn: string[] = [];
  /** How long a withdrawal takes to be answered, as the spawner's round trip does. */
  withdrawMs = 0;

  override start(req: ExecRequest): RunningAttempt {
    const attempt = super.start(req);
    let ended = false;
    void attempt.result.then(() => (ended = true));
    const behind = this.behind;
    return {
      ...attempt,
      get canQueue() {
        return !ended && !behind.has(attempt);
      },
    };
  }

  startAfter(req: ExecRequest, after: RunningAttempt): RunningAttempt | undefined {
    if (after.canQueue !== true) return undefined;
    this.behind.add(after);
    this.queued++;
    const chain = this.chains.get(after) ?? [];
    let inner: RunningAttempt | undefined;
    let out = false;
    let settle!: (result: AttemptResult) => void;
    let resolveTaken!: (started: boolean) => void;
    let resolveStarted!: () => void;
    const handBack = () => {
      out = true;
      if (this.withdrawMs > 0) setTimeout(() => resolveTaken(false), this.withdrawMs);
      else resolveTaken(false);
    };
    chain.push(handBack);
    this.peakDepth = Math.max(this.peakDepth, chain.length);
    // every job still queued in the slot goes back, oldest first
    const withdrawAll = () => {
      for (const back of chain.splice(0)) back();
    };
    const { behind, depth } = this;
    const queued: RunningAttempt = {
      result: new Promise((resolve) => (settle = resolve)),
      started: new Promise((resolve) => (resolveStarted = resolve)),
      taken: new Promise((resolve) => (resolveTaken = resolve)),
      get pid() {
        return inner?.pid;
      },
      get canQueue() {
        if (behind.has(queued)) return false;
        if (inner !== undefined) return inner.canQueue === true;
        return !out && chain.length < depth;
      },
      withdraw: () => {
        if (inner === undefined && !out) this.withdrawn.push(req.job.name);
        withdrawAll();
      },
      stop: (immediate) => (inner !== undefined ? inner.stop(immediate) : withdrawAll()),
    };
    this.chains.set(queued, chain);
    void after.result.then((ahead) => {
      this.behind.delete(after);
      if (out) return;
      if (ahead.exitCode !== 0 || ahead.timedOut) return withdrawAll();
      chain.splice(chain.indexOf(handBack), 1);
      inner = this.start(req);
      resolveTaken(true);
      resolveStarted();
      void inner.result.then(settle);
    });
    return queued;
  }
}

/**
 * A running Scheduler over `executor`: one worker, fifo, no pools unless `options` say
 * otherwise. `before` steers it before its first jobs start.
 */
export function startScheduler<E extends SchedulerOptions['executor']>(
  specs: JobSpec[] | AsyncIterable<JobSpec>,
  executor: E,
  options: Partial<SchedulerOptions> = {},
  before?: (scheduler: Scheduler) => void,
) {
  const log = new EventLog();
  const scheduler = new Scheduler({
    runId: 'test',
    manifestPath: null,
    logDir: '/tmp/jobrun-test-logs',
    workers: { min: 1, max: 1 },
    pools: {},
    order: 'fifo',
    executor,
    emit: log.emit,
    ...options,
  });
  before?.(scheduler);
  const done = scheduler.run(specs);
  return { executor, log, scheduler, done };
}

/** `startScheduler` over a FakeExecutor following `script`. */
export function startRun(
  specs: JobSpec[] | AsyncIterable<JobSpec>,
  script: Record<string, Step[]> = {},
  options: Partial<SchedulerOptions> = {},
  before?: (scheduler: Scheduler) => void,
) {
  return startScheduler(specs, new FakeExecutor(script), options, before);
}

/** Runs fake time forward until the run ends (bounded). */
export async function finish<T>(done: Promise<T>): Promise<T> {
  let settled = false;
  void done.then(() => (settled = true));
  for (let i = 0; i < 10_000 && !settled; i++) await vi.advanceTimersByTimeAsync(50);
  if (!settled) throw new Error('run did not finish in fake time');
  return done;
}
