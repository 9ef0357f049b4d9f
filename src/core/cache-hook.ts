import type { JobRecord } from '../model/events.js';
import type { JobSpec } from '../model/job.js';
import type { CapturedResult } from '../model/result.js';

/** What a cache hit gives the job's record instead of a run. */
export interface CacheHit {
  /** Why it did not run, for reports (`unchanged since …`). */
  reason: string;
  result?: CapturedResult;
  resultTruncated?: true;
}

/**
 * The scheduler's one hook for incremental runs (`cache: true`). Before a cached
 * job's first attempt starts, `check` looks its key up: a hit has already restored
 * its outputs, and the job ends `cached` without running; a miss runs it. The check
 * holds the job's place among the running ones, so hashing is as parallel as jobs are.
 */
export interface CacheHook {
  /** Never rejects: a check that cannot be made is a miss. */
  check(job: JobSpec): Promise<CacheHit | undefined>;
  /** A checked job succeeded: its outputs and result are stored in the background. */
  succeeded(job: JobSpec, record: JobRecord): void;
}
