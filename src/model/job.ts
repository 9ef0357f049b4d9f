import type { HooksSpec } from './alerts.js';
/**
 * The job model shared by every stage after the manifest: the loader produces
 * `JobSpec`s, the scheduler runs them, backends ship them, reporters describe them.
 */
import type { CaptureSpec } from './result.js';

/** Every state a job can be in; a job ends in one of `FinalStatus`. */
export type JobStatus =
  | 'pending'
  | 'queued'
  | 'running'
  | 'retrying'
  | 'succeeded'
  | 'cached'
  | 'failed'
  | 'timed_out'
  | 'skipped'
  | 'cancelled';

export type FinalStatus = 'succeeded' | 'cached' | 'failed' | 'timed_out' | 'skipped' | 'cancelled';

/**
 * Did the job end well? `cached` is a success whose outputs and result came from
 * the cache instead of a run: its dependants proceed as after `succeeded`.
 */
export function endedWell(status: JobStatus): boolean {
  return status === 'succeeded' || status === 'cached';
}

/** Exponential backoff between attempts; all durations in milliseconds. */
export interface BackoffSpec {
  delayMs: number;
  factor: number;
  maxMs: number;
  /** When true the wait is drawn uniformly from [delay/2, delay] ("equal jitter"). */
  jitter: boolean;
}

/**
 * A timeout is either fixed, or relative to the median duration of the jobs that
 * already succeeded in this run (`300%` = three times that median). Until a job has
 * succeeded a relative timeout does not apply.
 */
export type TimeoutSpec = { ms: number } | { percent: number };

/** One fully expanded, runnable job. Everything the executor needs is here. */
export interface JobSpec {
  /**
   * What people see. Unique in a manifest, but not for ad-hoc jobs (two equal stdin
   * lines) and not once made file-safe: the job's identity is `jobId`, never its name.
   */
  name: string;
  /**
   * The command line given to `shell -c`; placeholders are already substituted and
   * quoted. With `argv` it is only the display form (each argument shell-quoted).
   */
  command: string;
  /**
   * Program and arguments, run directly without a shell (`-- prog arg…` with several
   * words). May carry raw bytes (see `bytes.ts`).
   */
  argv?: string[];
  /** The items of a batch (`-n`, `-X`, `batch:`), for reports; absent for one item. */
  items?: string[];
  /**
   * For a stage's job: the stage's name template (`retry` rebuilds the job from it).
   * A stage that never expanded ends as one job whose name is its `stage`.
   */
  stage?: string;
  /** Position in file (or input) order, unique within a run; the tiebreak among equal priorities. */
  index: number;
  priority: number;
  pool?: string;
  needs: string[];
  timeout?: TimeoutSpec;
  killGraceMs: number;
  /** Extra attempts after the first. */
  retries: number;
  /** Remote runs: re-runs of an attempt lost with its worker, apart from `retries` (default 1). */
  lostRetries?: number;
  backoff: BackoffSpec;
  shell: string;
  /** Absolute working directory. */
  cwd: string;
  /** Merged over the runner's environment (local) or the worker's (redis). */
  env: Record<string, string>;
  allowFailure: boolean;
  /** Keep the job's stdout as its `result` (bounded); absent: nothing is captured. */
  capture?: CaptureSpec;
  /**
   * `stdin: { from }`: the jobs, or stages by name template, whose results this job
   * reads on its standard input (it needs them all). Without it stdin is /dev/null.
   */
  stdinFrom?: string[];
  /**
   * The job's standard input, filled in by the scheduler as the job becomes ready: one
   * JSON line `{"name","result"}` per source job that succeeded, in order.
   */
  stdin?: string;
  /** Set when the job may be skipped if its key matches an earlier success (`cache: true`). */
  cache?: JobCacheSpec;
  /**
   * Why the job cannot run as given: a setting filled in per item (`priority: "{prio}"`)
   * got a bad value from an item known only during the run (a stage's). It ends
   * `failed` with this reason, without an attempt.
   */
  refused?: string;
}

/**
 * Settings written as placeholders (`priority: "{prio}"`, `pool: "{pool}"`,
 * `timeout: "{t}"`), as written: each job of a `for_each` or a stage fills them in from
 * its item, and its values are checked then (an integer, a declared pool, a timeout).
 */
export interface ItemSettings {
  priority?: string;
  pool?: string;
  timeout?: string;
}

/**
 * What a cached job's key covers beyond the job itself, and what a hit restores.
 * Globs and paths are relative to the job's `cwd`, placeholders already substituted.
 */
export interface JobCacheSpec {
  /** Files (and folders) whose contents are part of the key. */
  inputs: string[];
  /** Files saved after a success and restored on a hit. */
  outputs: string[];
  /** Names of environment variables whose values (or absence) are part of the key. */
  env: string[];
  /** The files the job was made from (a glob's items), part of the key like inputs. */
  files?: string[];
  /** The folder `cwd` is keyed relative to: the manifest's folder (or the run's folder). */
  root: string;
  /**
   * The key's folder part as the run's machine made it (`cwd` relative to `root`): set
   * on a Redis worker, where `root` is not known, so both machines make the same key.
   */
  folder?: string;
}

/**
 * A job's identity within its run: `<position from 1>-<name made file-safe>`, e.g.
 * `3-img_a.png`. Unique because positions are, readable because of the name. Log file
 * names, events and queue ids use it; two jobs named alike (`a b` and `a_b`, or the
 * same stdin line twice) never share a log file or an id.
 */
export function jobId(job: Pick<JobSpec, 'index' | 'name'>): string {
  return `${job.index + 1}-${fileSafeName(job.name)}`;
}

/** A job's name as file names and queue ids may hold it (not unique: see `jobId`). */
export function fileSafeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
}

export interface WorkersSpec {
  min: number;
  max: number;
}

/**
 * A pool's limits: `workers` holds across the whole run (locally, and across every Redis
 * worker together); `perWorker` holds on each Redis worker (locally: the same as `workers`).
 */
export interface PoolSpec {
  workers?: number;
  perWorker?: number;
}

/** A whole validated manifest, before or without its jobs (jobs may stream in). */
export interface RunSettings {
  /** The manifest path, or null for ad-hoc and stdin runs. */
  manifestPath: string | null;
  workers?: WorkersSpec;
  pools: Record<string, PoolSpec>;
  order: 'fifo' | 'lifo';
  /** The manifest's `output:`: job output in the terminal unless `--output` says otherwise. */
  output?: 'stream' | 'grouped' | 'none';
  /**
   * `for_each: { from: JOB }` stages, expanded once JOB succeeds. Jobs that wait on a
   * stage (their `needs` name it) wait on its jobs once it is (see `core/stages.ts`).
   */
  stages?: StageSpec[];
  /** `alerts:` and `on_end:`. */
  hooks?: HooksSpec;
}

export interface Plan extends RunSettings {
  jobs: JobSpec[];
}

/**
 * A stage of a pipeline: a job template whose items are another job's captured result
 * (its lines, or the elements of its JSON array), known only once that job succeeded.
 * The source may be a stage itself: its items are then those of all of its jobs'
 * results, in the stage's job order.
 */
export interface StageSpec {
  /** The `name` template as written: how `needs` refer to all of the stage's jobs. */
  name: string;
  /** The `run` template as written. */
  run: string;
  /** The job, or the stage (its name template), whose result gives the items. */
  from: string;
  /** `batch: N`: at most N items per job. */
  batch?: number;
  /** `needs` as written (placeholders substituted per item on expansion). */
  needs: string[];
  /** Everything else a job of the stage gets (priority, pool, timeout, …). */
  settings: Omit<JobSpec, 'name' | 'command' | 'index' | 'needs'>;
  /** Settings each job fills in from its item; they win over `settings`. */
  perItem?: ItemSettings;
}

/** A stage's job once its items are known, before the run numbers it. */
export type StageJob = Omit<JobSpec, 'index'>;

/**
 * A pipeline's deferred work, as the scheduler receives it: the stage templates, and
 * how one expands into jobs once its items are known (the manifest's placeholders).
 */
export interface StagePlan {
  readonly stages: readonly StageSpec[];
  /**
   * Stages that expanded in an earlier run (a re-drive's sources): their jobs there, each
   * done or run again, stand for them, as an expanded stage's jobs do.
   */
  readonly expanded?: ReadonlyMap<string, readonly string[]>;
  /**
   * The jobs of `stage` for `items`, in item order (with `batch`, one per batch of
   * items). Their `needs` are the stage's needs with each item's placeholders filled in.
   */
  expand(stage: StageSpec, items: string[]): StageJob[];
}
