import type { AttemptResult } from './attempt.js';
import { jobId, type FinalStatus, type JobSpec } from './job.js';
import type { CapturedResult } from './result.js';
import type { StopSignal } from './stop.js';

/** Counts of jobs by final state, plus the total. */
export interface Summary {
  total: number;
  succeeded: number;
  /** Jobs not run because an earlier success with the same key was restored from the cache. */
  cached: number;
  failed: number;
  timed_out: number;
  skipped: number;
  cancelled: number;
}

/** Everything known about a job once it reached its final state. */
export interface JobRecord {
  /** The job's identity in this run (`jobId`); `name` is what people see. */
  id: string;
  name: string;
  /** File (or input) order, for sorting reports. */
  index: number;
  command: string;
  /** For a stage's job: the stage's name template. */
  stage?: string;
  /** The items of a batch job (`-n`, `-X`, `batch:`). */
  items?: string[];
  cwd: string;
  /** The shell that ran `command` (`shell -c`); absent when the job ran its argv directly. */
  shell?: string;
  pool?: string;
  priority: number;
  needs: string[];
  /** A fan-in's sources (`stdin: { from }`), a stage by its name template. */
  stdinFrom?: string[];
  allowFailure: boolean;
  status: FinalStatus;
  /** Why a job was skipped or cancelled (e.g. `need "build" failed`), or failed without running. */
  reason?: string;
  /** Left out by `--only`: reported as skipped but never counts against the run. */
  excluded?: boolean;
  exitCode?: number;
  signal?: string;
  attempts: AttemptResult[];
  worker?: string;
  logPath?: string;
  outputTail?: string;
  /** The last attempt's captured result (see `JobSpec.capture`). */
  result?: CapturedResult;
  /** Set when the result holds only the start of a longer stdout. */
  resultTruncated?: true;
  /** Epoch ms of the first attempt's start and of the job's end. */
  startedAt?: number;
  endedAt: number;
}

/**
 * The run's event stream. The scheduler (or a remote backend's coordinator) emits
 * these; reporters render them. Every event carries `type` and `time` (epoch ms).
 */
export interface RunEventMap {
  run_start: {
    runId: string;
    manifestPath: string | null;
    /** Known up front for manifests; null while jobs still stream in from stdin. */
    total: number | null;
    workers: number;
    logDir: string;
    /**
     * The jobs run on Redis workers' slots: `workers` is then the run's limit across them
     * (`-j`, the manifest's `workers:`), 0 for none of its own.
     */
    remote?: true;
  };
  /** Job events carry the job's `id` (unique in the run; key by it) and its `name` (show it). */
  job_queued: { id: string; name: string; priority: number; pool?: string };
  job_start: { id: string; name: string; attempt: number; worker: string; pid?: number };
  job_output: {
    id: string;
    name: string;
    stream: 'stdout' | 'stderr';
    line: string;
    /** Set for remote jobs: the worker that printed the line (`host:pid/slot`). */
    worker?: string;
  };
  attempt_end: { id: string; name: string; result: AttemptResult };
  job_retry: { id: string; name: string; nextAttempt: number; delayMs: number };
  job_end: { job: JobRecord };
  workers_change: { workers: number };
  /**
   * The run starts nothing more and waits for its running jobs: a graceful stop
   * (`graceMs` until they are stopped) or a drain (no limit).
   */
  run_stopping: { reason: string; running: number; graceMs?: number };
  /** An alert began (`cleared` false) or its episode ended (`cleared` true). */
  alert: { alert: string; value: number; message: string; cleared: boolean };
  run_end: {
    runId: string;
    summary: Summary;
    durationMs: number;
    exitCode: number;
    /** The signal that interrupted the run, if any (`SIGPIPE`: stdout's reader went away). */
    interrupted?: StopSignal;
    /** Why dispatch stopped early (a halt policy), if it did. */
    halted?: string;
  };
}

export type RunEventType = keyof RunEventMap;
export type RunEvent<K extends RunEventType = RunEventType> = {
  [T in K]: { type: T; time: number } & RunEventMap[T];
}[K];

export type Emit = <K extends RunEventType>(type: K, payload: RunEventMap[K]) => void;

export function emptySummary(): Summary {
  return { total: 0, succeeded: 0, cached: 0, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 };
}

/** The record a job gets when it ends without ever running. */
export function unranRecord(
  job: JobSpec,
  status: 'skipped' | 'cancelled',
  reason: string,
  at: number,
): JobRecord {
  return jobRecord(job, { status, reason, attempts: [], endedAt: at });
}

/** What a record says of its job itself; the rest (`RecordEnd`) says how it ended. */
type JobDescription = Pick<
  JobRecord,
  | 'id'
  | 'name'
  | 'index'
  | 'command'
  | 'items'
  | 'stage'
  | 'cwd'
  | 'shell'
  | 'pool'
  | 'priority'
  | 'needs'
  | 'allowFailure'
>;

export type RecordEnd = Omit<JobRecord, keyof JobDescription | 'excluded'>;

/**
 * A job's record, one object literal with every key in the order reports and events
 * show them (an absent one is undefined, which JSON leaves out). One is made per job,
 * so it is never spread: spreading an object and adding keys after it costs V8 tens of
 * microseconds. `excluded` is added by `--only`'s records only, last.
 */
export function jobRecord(job: JobSpec, end: RecordEnd): JobRecord {
  return {
    id: jobId(job),
    name: job.name,
    index: job.index,
    command: job.command,
    items: job.items,
    stage: job.stage,
    cwd: job.cwd,
    shell: job.argv === undefined ? job.shell : undefined,
    pool: job.pool,
    priority: job.priority,
    needs: job.needs,
    stdinFrom: job.stdinFrom,
    allowFailure: job.allowFailure,
    status: end.status,
    reason: end.reason,
    exitCode: end.exitCode,
    signal: end.signal,
    attempts: end.attempts,
    worker: end.worker,
    logPath: end.logPath,
    outputTail: end.outputTail,
    result: end.result,
    resultTruncated: end.resultTruncated,
    startedAt: end.startedAt,
    endedAt: end.endedAt,
  };
}

/** Does this job's outcome make the run fail? */
export function countsAsFailure(
  job: Pick<JobRecord, 'status' | 'allowFailure' | 'excluded'>,
): boolean {
  if (job.allowFailure || job.excluded) return false;
  return job.status === 'failed' || job.status === 'timed_out' || job.status === 'skipped';
}
