import type { Emit, Summary } from '../model/events.js';
import type { JobSpec, PoolSpec, StagePlan, WorkersSpec } from '../model/job.js';
import type { Backpressure, Executor } from '../exec/types.js';
import type { EarlierSuccess } from '../model/result.js';
import type { CacheHook } from './cache-hook.js';
import type { Clock } from './clock.js';
import type { StartGate } from './gates.js';
import type { HaltPolicy } from './halt.js';
import type { RemoteExecutor } from './remote.js';
import type { StopSignal } from '../model/stop.js';

/** Everything a run is configured with; the CLI builds it from the flags and the manifest. */
export interface SchedulerOptions {
  runId: string;
  manifestPath: string | null;
  /** Folder for the attempts' log files; the caller creates it. */
  logDir: string;
  /** Jobs at once; with a remote executor, the run's limit across its workers (`{0, 0}`: none). */
  workers: WorkersSpec;
  pools: Record<string, PoolSpec>;
  order: 'fifo' | 'lifo';
  /**
   * Runs attempts. A `RemoteExecutor` (the Redis coordinator's) runs every attempt of
   * a job itself: then nothing limits dispatch here and the scheduler does not retry.
   */
  executor: Executor | RemoteExecutor;
  emit: Emit;
  clock?: Clock;
  halt?: HaltPolicy;
  gate?: StartGate;
  /** jobrun's output falling behind its reader holds starts and piped output back. */
  backpressure?: Backpressure;
  /**
   * Jobs already done in an earlier run (the journal): they end succeeded without
   * running, with the result they left, if any (a stage reads it).
   */
  alreadyDone?: (job: JobSpec) => boolean | EarlierSuccess;
  /** Names picked by `--only` (with their needs); every other job is skipped. */
  selected?: (job: JobSpec) => boolean;
  /**
   * Why a job cannot run in this run, if so: a re-driven job whose need neither succeeded
   * in the run it re-drives nor runs again. It ends skipped with that reason.
   */
  held?: (job: JobSpec) => string | undefined;
  /** Pipe job output through the runner and emit `job_output` events. */
  captureOutput?: boolean;
  /** Keep each attempt's stdout and stderr in files of their own too (`ExecRequest.separate`). */
  separateStreams?: boolean;
  /**
   * Remote jobs: bring each attempt's stdout and stderr back to files here (its log is on
   * its worker's machine); implied by `separateStreams`.
   */
  remoteStreams?: boolean;
  /** For streamed input: at most this many jobs wait in memory; reading pauses meanwhile. */
  maxQueue?: number;
  /**
   * A pipeline's stages (`for_each: { from }`), whose jobs are known only once their
   * source's result is. Only with an array of jobs: they are the plan's other jobs.
   */
  stages?: StagePlan;
  /** Randomness for backoff jitter, injectable for tests. */
  random?: () => number;
  /** How long slots of a dynamic pool sit idle before it shrinks. */
  idleMs?: number;
  /** Jobs with `cache` are looked up before they start, and stored after they succeed. */
  cache?: CacheHook;
  /**
   * `--graceful`: on the first stop signal, running jobs get this long to finish before
   * they are stopped; 0 or undefined stops them at once.
   */
  gracefulMs?: number;
  /**
   * Called as a local attempt's process group is known (the journal records it):
   * `start` is the leader's start time in ticks, when known.
   */
  onAttemptStart?: (job: JobSpec, pid: number | undefined, start: number | undefined) => void;
  /**
   * Called as a spawner process is made for a local attempt, before any job is sent to it
   * (the journal records it: `--resume` waits for those a killed jobrun left).
   */
  onSpawner?: (pid: number, start: number | undefined) => void;
}

export interface RunOutcome {
  summary: Summary;
  exitCode: number;
  durationMs: number;
  interrupted?: StopSignal;
  halted?: string;
  /** Why the job source failed (a read error, an over-long line): the run stopped, exit 2. */
  inputError?: string;
}
