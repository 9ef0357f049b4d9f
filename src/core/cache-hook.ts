import type { AttemptResult } from '../model/attempt.js';
import type { JobRecord } from '../model/events.js';
import type { JobSpec } from '../model/job.js';
import type { CapturedResult } from '../model/result.js';

/** What a cache hit gives the job's record instead of a run. */
export interface CacheHit {
  /** Why it did not run, for reports (`unchanged since …`). */
  reason: string;
  result?: CapturedResult;
  resultTruncated?: true;
  /** The Redis worker whose cache it came from. */
  worker?: string;
}

/** A Redis worker's attempt that came from its cache (`AttemptResult.cached`), as a hit. */
export function remoteHit(result: AttemptResult): CacheHit | undefined {
  if (result.cached === undefined) return undefined;
  const { cached: reason, result: captured, resultTruncated, worker } = result;
  return {
    reason,
    ...(captured === undefined ? {} : { result: captured }),
    ...(resultTruncated ? { resultTruncated } : {}),
    ...(worker === undefined ? {} : { worker }),
  };
}

/**
 * The scheduler's one hook for incremental runs (`cache: true`). Before a cached
 * job's first attempt starts, `check` looks its key up: a hit has already restored
 * its outputs, and the job ends `cached` without running; a miss runs it. The check
 * holds the job's place among the running ones, so hashing is as parallel as jobs are.
 * A success ends once it is stored: a dependant may rewrite or remove its outputs.
 */
export interface CacheHook {
  /** Never rejects: a check that cannot be made is a miss. */
  check(job: JobSpec): Promise<CacheHit | undefined>;
  /**
   * A job with `cache` that `--resume` skips (it succeeded in the journal's run): it is
   * not looked up, but its key is made all the same, as part of its dependants' keys.
   */
  resumed(job: JobSpec): void;
  /** A checked job succeeded: resolves once its outputs and result are stored. Never rejects. */
  succeeded(job: JobSpec, record: Pick<JobRecord, 'result' | 'resultTruncated'>): Promise<void>;
}
