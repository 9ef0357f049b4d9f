import os from 'node:os';
import type { AttemptResult } from '../model/attempt.js';
import type { JobRecord, RunEvent, Summary } from '../model/events.js';
import type { FinalStatus } from '../model/job.js';
import type { CapturedResult } from '../model/result.js';

/** One attempt in the report: times as ISO strings, durations in milliseconds. */
export interface ReportAttempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  error?: string;
  worker?: string;
  log?: string;
  /** Last lines of this attempt's output (stdout and stderr), for attempts that failed. */
  outputTail?: string;
}

export interface ReportJob {
  /** The job's identity in the run (`3-build`): unique even where names repeat; its log files are named after it. */
  id: string;
  name: string;
  command: string;
  /** The items of a batch job, each as given. */
  items?: string[];
  /** For a stage's job: the stage's name template. */
  stage?: string;
  cwd: string;
  /** The shell that ran `command`; absent when the job ran its program directly (no shell). */
  shell?: string;
  pool?: string;
  priority: number;
  needs: string[];
  /** A fan-in's sources (`stdin: { from }`), a stage by its name template: `jobrun retry` reads them. */
  stdinFrom?: string[];
  status: FinalStatus;
  reason?: string;
  allowFailure: boolean;
  excluded?: boolean;
  exitCode?: number;
  signal?: string;
  attempts: ReportAttempt[];
  worker?: string;
  log?: string;
  /** Last lines of output, only for jobs that did not succeed. */
  outputTail?: string;
  /** The captured stdout (`--capture`, `capture:`): text, lines, or parsed JSON. */
  result?: CapturedResult;
  /** Set when stdout was longer than the capture limit and `result` holds its start. */
  resultTruncated?: true;
  startedAt?: string;
  endedAt: string;
  /** From the first attempt's start to the job's end, backoff waits included. */
  durationMs?: number;
}

/** The document behind `--json` and `--report`. */
export interface Report {
  version: 1;
  runId: string;
  manifest: string | null;
  host: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  exitCode: number;
  interrupted?: string;
  halted?: string;
  /**
   * jobrun could not write its own stdout or stderr (a full disk), or a job's log was
   * removed before its output could be shown: the run went on, exit 1.
   */
  outputError?: string;
  workers: number;
  /** The jobs ran on Redis workers: `workers` is the run's limit across them, 0 for none. */
  remote?: true;
  logDir: string;
  /**
   * The command that runs what this run did not finish and skips what it did: its own
   * command line with `--resume` (a retry's too: the run's `--resume` would run again
   * what the retry finished). Absent where jobrun did not make the run from a command line.
   */
  resume?: string;
  summary: Summary;
  jobs: ReportJob[];
}

const iso = (ms: number) => new Date(ms).toISOString();

export function reportAttempt(a: AttemptResult): ReportAttempt {
  return {
    attempt: a.attempt,
    startedAt: iso(a.startedAt),
    durationMs: a.durationMs,
    exitCode: a.exitCode,
    signal: a.signal,
    timedOut: a.timedOut,
    error: a.error,
    worker: a.worker,
    log: a.logPath,
    outputTail: a.outputTail,
  };
}

export function reportJob(job: JobRecord): ReportJob {
  return {
    id: job.id,
    name: job.name,
    command: job.command,
    items: job.items,
    stage: job.stage,
    cwd: job.cwd,
    shell: job.shell,
    pool: job.pool,
    priority: job.priority,
    needs: job.needs,
    stdinFrom: job.stdinFrom,
    status: job.status,
    reason: job.reason,
    allowFailure: job.allowFailure,
    excluded: job.excluded,
    exitCode: job.exitCode,
    signal: job.signal,
    attempts: job.attempts.map(reportAttempt),
    worker: job.worker,
    log: job.logPath,
    outputTail: job.outputTail,
    result: job.result,
    resultTruncated: job.resultTruncated,
    startedAt: job.startedAt === undefined ? undefined : iso(job.startedAt),
    endedAt: iso(job.endedAt),
    durationMs: job.startedAt === undefined ? undefined : job.endedAt - job.startedAt,
  };
}

/** Keeps every finished job's record (in file order) to build the report at the end. */
export class ReportCollector {
  private start: RunEvent<'run_start'> | undefined;
  private readonly jobs: JobRecord[] = [];

  /** `resume`: see `Report.resume`. */
  constructor(private readonly resume?: string) {}

  add(event: RunEvent): void {
    if (event.type === 'run_start') this.start = event;
    else if (event.type === 'job_end') this.jobs.push(event.job);
  }

  build(end: RunEvent<'run_end'>): Report {
    const start = this.start;
    const startedAt = start?.time ?? end.time - end.durationMs;
    return {
      version: 1,
      runId: end.runId,
      manifest: start?.manifestPath ?? null,
      host: os.hostname(),
      startedAt: iso(startedAt),
      endedAt: iso(end.time),
      durationMs: end.durationMs,
      exitCode: end.exitCode,
      interrupted: end.interrupted,
      halted: end.halted,
      workers: start?.workers ?? 0,
      remote: start?.remote,
      logDir: start?.logDir ?? '',
      resume: this.resume,
      summary: end.summary,
      jobs: [...this.jobs].sort((a, b) => a.index - b.index).map(reportJob),
    };
  }
}
