import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { GroupAttempt } from './attempt.js';
import { stdinPathFor } from './stdin-file.js';
import { commandLine } from './command-line.js';
import { SpawnerProcess, type SpawnReport } from './spawner-process.js';
import { needsPipes, type ExecRequest, type Executor, type RunningAttempt } from './types.js';

export interface HelperExecutorOptions {
  /**
   * Runs the attempts whose output is piped through jobrun (`onLine`) and, unless
   * `strict`, every attempt once a spawner failed to come up (no python3, too old a
   * Python): the `node:child_process` executor.
   */
  fallback: Executor;
  /** A spawner that cannot run is an attempt error instead of a reason to fall back. */
  strict?: boolean;
  /** Interpreter for the spawner (default: `JOBRUN_PYTHON` or `python3`). */
  python?: string;
}

/**
 * The executor that starts jobs through spawner processes (see `spawner-source.ts`):
 * one per job running at once, reused from job to job, so the big Node process is
 * never forked per job. Same guarantees as the local executor (see `GroupAttempt`):
 * jobrun itself signals each job's group for timeouts, stop and leftovers.
 *
 * - A spawner that dies mid-job ends that attempt with an `error` (retried per the
 *   job's policy) and is replaced by a new one for the next job.
 * - Runs that stream output (`onLine`), keep stdout and stderr apart (`separate`) or
 *   capture a result (`job.capture`) use the fallback: their bytes go through
 *   jobrun's pipes anyway, and a spawner would need a pipe or FIFO per stream that
 *   jobrun reads just the same.
 */
export function createHelperExecutor(options: HelperExecutorOptions): Executor {
  const pool = new SpawnerPool(options.python);
  const { fallback, strict = false } = options;
  return {
    start(request: ExecRequest): RunningAttempt {
      if (needsPipes(request) || (!strict && pool.unavailable !== undefined))
        return fallback.start(request);
      return new HelperAttempt(request, pool, strict ? undefined : fallback);
    },
  };
}

/** Idle spawners, ready for the next job; a spawner that could not run marks the pool. */
class SpawnerPool {
  /** Why spawners cannot run here, once one failed before saying it was ready. */
  unavailable: string | undefined;
  private readonly idle: SpawnerProcess[] = [];

  constructor(private readonly python: string | undefined) {}

  take(): SpawnerProcess {
    let spawner = this.idle.pop();
    while (spawner?.dead) spawner = this.idle.pop();
    spawner ??= new SpawnerProcess(this.python);
    spawner.setBusy(true);
    return spawner;
  }

  give(spawner: SpawnerProcess): void {
    spawner.onReport = undefined;
    spawner.onDeath = undefined;
    if (spawner.dead) return;
    spawner.setBusy(false);
    this.idle.push(spawner);
  }
}

class HelperAttempt extends GroupAttempt {
  private spawner: SpawnerProcess | undefined;
  /** The fallback attempt, when this one was handed over before it started. */
  private delegate: RunningAttempt | undefined;

  constructor(
    request: ExecRequest,
    private readonly pool: SpawnerPool,
    private readonly fallback: Executor | undefined,
  ) {
    super(request);
    if (pool.unavailable !== undefined) {
      this.fail(`the job spawner cannot run here: ${pool.unavailable}`);
      return;
    }
    const spawner = pool.take();
    this.spawner = spawner;
    spawner.onReport = (report) => this.onReport(report);
    spawner.onDeath = (why) => this.onDeath(why);
    const { job } = request;
    const { file, args } = commandLine(job);
    // a log folder deleted while the run goes is made again (the spawner opens the file)
    const logDir = dirname(request.logPath);
    try {
      if (!existsSync(logDir)) mkdirSync(logDir, { recursive: true });
    } catch {
      // the spawner's open then fails and names the file and the errno
    }
    let stdinPath: string;
    try {
      stdinPath = stdinPathFor(request.logPath, job.stdin);
    } catch (err) {
      this.release();
      this.fail(`cannot write the job's stdin: ${(err as Error).message}`);
      return;
    }
    spawner.send({
      file,
      argv: [file, ...args],
      cwd: job.cwd,
      env: job.env,
      logPath: request.logPath,
      stdinPath,
      killGraceMs: job.killGraceMs,
    });
  }

  override get pid(): number | undefined {
    return this.delegate !== undefined ? this.delegate.pid : super.pid;
  }

  override stop(immediate = false): void {
    if (this.delegate !== undefined) this.delegate.stop(immediate);
    else super.stop(immediate);
  }

  private onReport(report: SpawnReport): void {
    if (report.kind === 'pid') {
      this.running(report.pid);
    } else if (report.kind === 'exit') {
      void this.exited(report.code, report.signal).finally(() => this.release());
    } else {
      this.release();
      if (report.where === 'log')
        this.fail(
          `cannot open log file ${this.request.logPath}: ${report.code}: ${report.message}`,
        );
      else this.failToStart(Object.assign(new Error(report.message), { code: report.code }));
    }
  }

  /** The spawner went away: before it ever ran, hand over; mid-job, an attempt error. */
  private onDeath(why: string): void {
    const spawner = this.spawner;
    this.release();
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

  private release(): void {
    const spawner = this.spawner;
    this.spawner = undefined;
    if (spawner !== undefined) this.pool.give(spawner);
  }
}
