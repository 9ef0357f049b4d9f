import {
  countsAsFailure,
  jobRecord,
  emptySummary,
  unranRecord,
  type JobRecord,
} from '../model/events.js';
import type { FinalStatus } from '../model/job.js';
import type { EarlierSuccess } from '../model/result.js';
import { STOP_EXIT_CODES, type StopSignal } from '../model/stop.js';
import type { CacheHit } from './cache-hook.js';
import type { Entry } from './entry.js';
import type { RunOutcome } from './scheduler-options.js';

/** The record of a job that ran: its attempts, and the last one's exit, worker and log. */
export function attemptsRecord(
  entry: Entry,
  status: FinalStatus,
  endedAt: number,
  reason?: string,
): JobRecord {
  const { attempts } = entry;
  const last = attempts.length > 0 ? attempts[attempts.length - 1] : undefined;
  return jobRecord(entry.spec, {
    status,
    reason,
    exitCode: last?.exitCode,
    signal: last?.signal,
    attempts,
    worker: last?.worker,
    logPath: last?.logPath,
    outputTail: status === 'succeeded' ? undefined : last?.outputTail,
    result: last?.result,
    resultTruncated: last?.resultTruncated,
    startedAt: attempts[0]?.startedAt,
    endedAt,
  });
}

/** The record of a job the journal says succeeded in an earlier run: it does not run again. */
export function resumedRecord(
  entry: Entry,
  endedAt: number,
  earlier: boolean | EarlierSuccess = true,
): JobRecord {
  const left = typeof earlier === 'object' ? earlier : undefined;
  return jobRecord(entry.spec, {
    status: 'succeeded',
    reason: 'succeeded in an earlier run',
    attempts: [],
    result: left?.result,
    resultTruncated: left?.resultTruncated,
    endedAt,
  });
}

/** The record of a job whose outputs and result came from the cache: it did not run. */
export function cachedRecord(entry: Entry, hit: CacheHit, endedAt: number): JobRecord {
  const { reason, result, resultTruncated, worker } = hit;
  return jobRecord(entry.spec, {
    status: 'cached',
    reason,
    attempts: [],
    worker,
    result,
    resultTruncated,
    endedAt,
  });
}

/**
 * The record of a job that cannot run as given (`JobSpec.refused`): failed, without an
 * attempt, its reason saying which setting its item filled in badly.
 */
export function refusedRecord(entry: Entry, endedAt: number): JobRecord {
  const reason = entry.spec.refused ?? 'refused';
  return jobRecord(entry.spec, { status: 'failed', reason, attempts: [], endedAt });
}

/** The record of a job left out by `--only`: skipped, but never against the run. */
export function excludedRecord(entry: Entry, endedAt: number): JobRecord {
  const record = unranRecord(entry.spec, 'skipped', 'not selected by --only', endedAt);
  return { ...record, excluded: true };
}

/** The run's counts: jobs by final state, jobs not yet ended, and the exit code they make. */
export class Tally {
  private readonly summary = emptySummary();
  private failures = 0;
  /** Jobs that entered the run and have not ended. */
  unfinished = 0;

  added(): void {
    this.summary.total++;
    this.unfinished++;
  }

  /** A stage's pending entry left the run: its jobs were added in its place. */
  withdrawn(): void {
    this.summary.total--;
    this.unfinished--;
  }

  ended(record: JobRecord): void {
    this.summary[record.status]++;
    this.unfinished--;
    if (countsAsFailure(record)) this.failures++;
  }

  /**
   * 128+n when stopped by signal n (130 Ctrl-C, 141 a closed stdout, ...), else 2 when
   * the input failed, else 1 when a job counts as a failure, else 0.
   */
  outcome(
    durationMs: number,
    interrupted?: StopSignal,
    halted?: string,
    inputError?: string,
  ): RunOutcome {
    const exitCode = interrupted
      ? STOP_EXIT_CODES[interrupted]
      : inputError !== undefined
        ? 2
        : this.failures > 0
          ? 1
          : 0;
    const outcome: RunOutcome = {
      summary: { ...this.summary },
      exitCode,
      durationMs,
      interrupted,
      halted,
    };
    if (inputError !== undefined) outcome.inputError = inputError;
    return outcome;
  }
}
