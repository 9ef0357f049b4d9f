import type { AttemptResult } from '../model/attempt.js';
import { jobId, type JobSpec, type JobStatus } from '../model/job.js';
import type { RunningAttempt } from '../exec/types.js';

/** The scheduler's bookkeeping for one job; the policies read and update it. */
export interface Entry {
  spec: JobSpec;
  /** `jobId(spec)`: the job's key in events (names may repeat). */
  id: string;
  status: JobStatus;
  attempts: AttemptResult[];
  /** Needs not yet succeeded. */
  waiting: number;
  dependents: Entry[];
  running?: RunningAttempt;
  /** Local only: the worker slot its attempt runs on. */
  slot?: number;
  /** Set when the run stopped this job's attempt; its outcome is then `cancelled`. */
  killed?: boolean;
  /** Why a user cancelled this one job (`jobrun cancel`); the run's stop reason otherwise. */
  cancelReason?: string;
  /** Remote only: an attempt is running on a worker (not waiting in the queue). */
  remoteActive?: boolean;
}

export function newEntry(spec: JobSpec): Entry {
  return { spec, id: jobId(spec), status: 'pending', attempts: [], waiting: 0, dependents: [] };
}

/** Not started and not finished: what a stop cancels. */
export function notStarted(entry: Entry): boolean {
  return entry.status === 'pending' || entry.status === 'queued' || entry.status === 'retrying';
}
