import { statSync } from 'node:fs';
import type { AttemptResult } from '../model/attempt.js';
import { GroupAttempt } from './attempt.js';
import { commandLine } from './command-line.js';
import { killGroup } from './kill.js';
import { procStat } from './proc.js';
import { signalNumber } from './signals.js';
import { stdinPathFor } from './stdin-file.js';
import {
  SpawnerProcess,
  type SpawnListener,
  type SpawnOrder,
  type SpawnReport,
} from './spawner-process.js';
import { addStreamOutputs } from './stream-outputs.js';
import type { ExecRequest, Executor, RunningAttempt } from './types.js';

export interface HelperExecutorOptions {
  /**
   * Runs the attempts whose lines go through jobrun (`onLine`) and, unless
   * `strict`, every attempt once a spawner failed to come up (no python3, too old a
   * Python): the `node:child_process` executor.
   */
  fallback: Executor;
  /** A spawner that cannot run is an attempt error instead of a reason to fall back. */
  strict?: boolean;
  /** Interpreter for the spawner (default: `JOBRUN_PYTHON` or `python3`). */
  python?: string;
  /** Told once, with the reason, when jobs start through the fallback because no spawner can run. */
  onFallback?: (why: string) => void;
}

/**
 * The executor that starts jobs through spawner processes (see `spawner-source.ts`):
 * one per job running at once, reused from job to job, so the big Node process is
 * never forked per job. Same guarantees as the local executor (see `GroupAttempt`):
 * jobrun itself signals each job's group for timeouts, stop and leftovers.
 *
 * - A spawner that dies mid-job ends that attempt with an `error` (retried per the
 *   job's policy) and is replaced by a new one for the next job.
 * - Jobs whose streams must come back apart (`separate`, `job.capture`) stay the
 *   spawner's: it reads their pipes into the log and the per-stream files and keeps
 *   the start of stdout, so they die with jobrun as any job does.
 * - Runs that stream output line by line (`onLine`) use the fallback: jobrun reads
 *   and splits every line there, live.
 */
export function createHelperExecutor(options: HelperExecutorOptions): Executor {
  const { fallback, strict = false } = options;
  const pool = new SpawnerPool(options.python, strict ? undefined : options.onFallback);
  const handOverTo = strict ? undefined : fallback;
  return {
    start(request: ExecRequest): RunningAttempt {
      if (request.onLine !== undefined || (!strict && pool.unavailable !== undefined))
        return fallback.start(request);
      return new HelperAttempt(request, pool, handOverTo);
    },
    startAfter(request: ExecRequest, after: RunningAttempt): RunningAttempt | undefined {
      if (request.onLine !== undefined || pool.unavailable !== undefined) return undefined;
      const spawner = after instanceof HelperAttempt ? after.spawnerToQueueOn() : undefined;
      return spawner && new HelperAttempt(request, pool, handOverTo, spawner);
    },
  };
}

/** Idle spawners, ready for the next job; a spawner that could not run marks the pool. */
class SpawnerPool {
  private why: string | undefined;
  private readonly idle: SpawnerProcess[] = [];

  constructor(
    private readonly python: string | undefined,
    private readonly onFallback: ((why: string) => void) | undefined,
  ) {}

  /** Why spawners cannot run here, once one failed before saying it was ready. */
  get unavailable(): string | undefined {
    return this.why;
  }

  set unavailable(why: string | undefined) {
    if (this.why === undefined && why !== undefined) this.onFallback?.(why);
    this.why = why;
  }

  /**
   * An idle spawner, or a new one, told to `onMade` before it is returned; it goes back to
   * the pool each time it is idle again.
   */
  take(onMade?: ExecRequest['onSpawner']): SpawnerProcess {
    let spawner = this.idle.pop();
    while (spawner !== undefined && (spawner.dead || spawner.busy)) spawner = this.idle.pop();
    if (spawner !== undefined) return spawner;
    const made = new SpawnerProcess(this.python);
    made.onIdle = () => this.idle.push(made);
    const { pid } = made;
    if (pid !== undefined) onMade?.(pid, procStat(pid)?.startTicks);
    return made;
  }
}

class HelperAttempt extends GroupAttempt implements SpawnListener {
  readonly taken: Promise<boolean>;
  private resolveTaken!: (started: boolean) => void;
  private spawner: SpawnerProcess | undefined;
  /** Queued behind another job in its spawner: not started yet, may be withdrawn. */
  private waiting: boolean;
  /** The fallback attempt, when this one was handed over before it started. */
  private delegate: RunningAttempt | undefined;
  /** With the streams apart: what the spawner read, once its `output` report came. */
  private output: Extract<SpawnReport, { kind: 'output' }> | undefined;
  /** Settles the wait for the `output` report after the end (with the output's size). */
  private outputRead: ((bytes: number) => void) | undefined;
  /** Without pipes: the log's size at the end, when the spawner could tell it. */
  private logSize: number | undefined;

  /** With `behind`, the attempt is queued there behind the job it runs (`startAfter`). */
  constructor(
    request: ExecRequest,
    private readonly pool: SpawnerPool,
    private readonly fallback: Executor | undefined,
    behind?: SpawnerProcess,
  ) {
    super(request);
    this.taken = new Promise((resolve) => (this.resolveTaken = resolve));
    this.waiting = behind !== undefined;
    if (this.refused()) {
      // ended before it could start: not withdrawn, so it counts as taken
      this.waiting = false;
      this.resolveTaken(true);
      return;
    }
    if (!this.waiting) this.resolveTaken(true);
    if (pool.unavailable !== undefined) {
      this.fail(`the job spawner cannot run here: ${pool.unavailable}`);
      return;
    }
    const { job } = request;
    const { file, args } = commandLine(job);
    let stdinPath: string;
    try {
      stdinPath = stdinPathFor(request.logPath, job.stdin);
    } catch (err) {
      this.fail(`cannot write the job's stdin: ${(err as Error).message}`);
      return;
    }
    const order: SpawnOrder = {
      file,
      argv: [file, ...args],
      cwd: job.cwd,
      env: job.env,
      logPath: request.logPath,
      stdinPath,
      killGraceMs: job.killGraceMs,
    };
    if (request.separate !== undefined || job.capture !== undefined)
      order.streams = { ...request.separate, keepBytes: job.capture?.maxBytes };
    this.spawner = behind ?? pool.take(request.onSpawner);
    if (behind !== undefined) behind.queue(order, this);
    else this.spawner.start(order, this);
  }

  override get pid(): number | undefined {
    return this.delegate !== undefined ? this.delegate.pid : super.pid;
  }

  override get startTicks(): number | undefined {
    return this.delegate !== undefined ? this.delegate.startTicks : super.startTicks;
  }

  get canQueue(): boolean {
    return this.spawnerToQueueOn() !== undefined;
  }

  /**
   * Its spawner, when a next job may be queued there behind this one. Not behind a job
   * whose captured JSON decides its success: the spawner starts a queued job on an exit
   * 0, and that one may still fail (a start after a failure, under --fail-fast or --halt).
   */
  spawnerToQueueOn(): SpawnerProcess | undefined {
    const { spawner } = this;
    if (this.isEnded || spawner === undefined || this.job.capture?.mode === 'json')
      return undefined;
    return spawner.canQueueBehind(this) ? spawner : undefined;
  }

  withdraw(): void {
    if (this.waiting) this.spawner?.withdraw();
  }

  override stop(immediate = false): void {
    if (this.delegate !== undefined) return this.delegate.stop(immediate);
    if (this.waiting) this.withdraw();
    super.stop(immediate); // queued: applied should it have started first
  }

  report(report: SpawnReport): void {
    if (report.kind === 'withdrawn') {
      this.waiting = false;
      this.resolveTaken(false);
      return;
    }
    if (this.waiting) {
      this.waiting = false;
      this.restartClock(report.kind === 'pid' ? report.ageMs : 0);
      this.resolveTaken(true);
    }
    if (report.kind === 'pid') {
      this.running(report.pid, report.start, report.ageMs);
    } else if (report.kind === 'signalled') {
      if (report.pid === this.pid) this.signalLanded();
    } else if (report.kind === 'exit') {
      this.logSize = report.logSize;
      this.output = report.output; // its output, when it was complete as the job ended
      void this.exited(
        report.code,
        report.signal,
        this.outputSize(),
        report.groupGone,
        report.ageMs,
      );
    } else if (report.kind === 'output') {
      this.output = report;
      this.outputRead?.(report.bytes);
      this.outputRead = undefined;
    } else if (report.where === 'log') {
      this.fail(`cannot open log file ${this.request.logPath}: ${report.code}: ${report.message}`);
    } else {
      this.failToStart(Object.assign(new Error(report.message), { code: report.code }));
    }
  }

  /**
   * Signals go through the spawner while the job runs: it reaps the job first, so the
   * order of its reports tells whether the signal reached the job or the job had ended.
   */
  protected override signalGroup(signal: NodeJS.Signals): void {
    const { spawner, pid } = this;
    if (pid !== undefined && spawner !== undefined && !spawner.dead && !this.isEnded) {
      // a job stopped or timed out may trap the signal and exit 0: the job queued
      // behind it must not start then, so its withdrawal goes first
      spawner.withdraw();
      spawner.signal(pid, signalNumber(signal));
    } else killGroup(pid, signal);
  }

  /**
   * With the streams apart, the size of the output once the spawner read it all (the
   * attempt ends then, so the files are complete when reporters read them). A size the
   * spawner said with the end (the output read, or the log the job wrote) ends the
   * attempt at once, so its end goes into the journal with the next job's start. Else
   * the log file's.
   */
  private outputSize(): number | (() => Promise<number>) | undefined {
    if (this.output !== undefined) return this.output.bytes;
    if (this.request.separate === undefined && this.job.capture === undefined) return this.logSize;
    const read = new Promise<number>((resolve) => (this.outputRead = resolve));
    return () => read;
  }

  protected override addOutputs(result: AttemptResult): void {
    addStreamOutputs(this.request, result, this.output);
  }

  /** The spawner removed an empty log as it said so (`o 0 …`, or `x … 0` for a log the job wrote). */
  protected override emptyLogRemoved(): boolean {
    return this.output !== undefined || this.logSize !== undefined;
  }

  protected override logWriteError(): NodeJS.ErrnoException | undefined {
    const code = this.output?.logError;
    return code === undefined ? undefined : Object.assign(new Error(code), { code });
  }

  /** The spawner went away: queued, the job never started; before it ran, hand over; mid-job, an error. */
  death(why: string): void {
    const spawner = this.spawner;
    this.spawner = undefined;
    if (this.outputRead !== undefined) {
      // it ended, and the spawner died reading its output: the log holds what was read
      this.outputRead(sizeOf(this.request.logPath));
      return;
    }
    if (this.waiting) {
      this.waiting = false;
      this.resolveTaken(false);
      return;
    }
    if (spawner !== undefined && !spawner.ready && this.pid === undefined) {
      this.pool.unavailable = why;
      if (this.fallback !== undefined) return this.handOver(this.fallback);
      return this.fail(`the job spawner cannot run here: ${why}`);
    }
    this.fail(why);
  }

  private handOver(fallback: Executor): void {
    const delegate = fallback.start(this.request);
    this.delegate = delegate;
    const pending = this.takePendingStop();
    if (pending !== undefined) delegate.stop(pending);
    void (delegate.started ?? Promise.resolve()).then(() => this.announceStarted());
    void delegate.result.then((result) => this.settle(result));
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}
