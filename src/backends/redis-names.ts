import { createHash } from 'node:crypto';
import { jobFingerprint } from '../core/journal.js';
import { fileSafeName, jobId } from '../model/job.js';

/**
 * Where a run lives in Redis. BullMQ keys use the prefix `jobrun`; one queue per
 * pool (`default` for jobs without one), shared by every run so a worker serves
 * whatever runs use its pools. Job ids are deterministic (run key + job identity), so
 * enqueueing a job twice is a no-op.
 */
export const PREFIX = 'jobrun';
/** A Redis set of every pool name coordinators have used: what `--pool '*'` serves. */
export const POOLS_KEY = `${PREFIX}:meta:pools`;
/** Pub/sub channel on which coordinators ask workers to stop a job (Ctrl-C, --halt now). */
export const CANCEL_CHANNEL = `${PREFIX}:meta:cancel`;
/** How long finished jobs stay readable for `--resume` (seconds). */
export const KEEP_FINISHED_S = 7 * 24 * 3600;
/** BullMQ's priority range is 1 (first) … 2^21 (last). */
const MAX_BULL_PRIORITY = 2 ** 21;
const MID = 2 ** 20;

/** Pool names that make a valid BullMQ queue name (no `:`) and a safe label. */
const POOL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;

/** Why a pool name cannot be used on Redis, or undefined when it can. */
export function badPoolName(pool: string): string | undefined {
  return POOL_NAME.test(pool)
    ? undefined
    : `pool name "${pool}" cannot be used on Redis: use letters, digits, '_', '.' and '-' (at most 100)`;
}

/** Set when a run is interrupted: workers start none of its jobs afterwards. */
export function cancelledKey(runKey: string): string {
  return `${PREFIX}:meta:cancelled:${runKey}`;
}

/**
 * Set while a run is paused (`jobrun pause`): `*` for the whole run, else the names of
 * its paused pools. Workers start none of those jobs until it no longer says so.
 */
export function pausedKey(runKey: string): string {
  return `${PREFIX}:meta:paused:${runKey}`;
}

/** What `pausedKey` holds for a pause of the whole run (no pool name is `*`). */
export const WHOLE_RUN = '*';

/** Exists while a run is live; its absence means Redis lost the run's state. */
export function liveKey(runKey: string): string {
  return `${PREFIX}:meta:live:${runKey}`;
}

/** The capped stream of job output lines of a run (`--output stream|grouped`). */
export function outputKey(runKey: string): string {
  return `${PREFIX}:out:${runKey}`;
}

/** Present while a run's coordinator reads its output stream (it renews it): workers wait for it. */
export function outputReaderKey(runKey: string): string {
  return `${PREFIX}:out-reader:${runKey}`;
}

/** The queue serving a pool, or the pool-less default queue. */
export function queueName(pool: string | undefined): string {
  return pool === undefined ? 'default' : `pool.${pool}`;
}

/** The pool served by a queue name (the inverse of `queueName`). */
export function poolOfQueue(name: string): string | undefined {
  return name === 'default' ? undefined : name.replace(/^pool\./, '');
}

/** The key holding the current run key for an identity (manifest path or ad-hoc command). */
export function runPointerKey(identity: string): string {
  return `${PREFIX}:meta:run:${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}

/** A fresh run key: identity hash plus the run id, so runs of one manifest never collide. */
export function newRunKey(identity: string, runId: string): string {
  const hash = createHash('sha256').update(identity).digest('hex').slice(0, 12);
  return `${hash}.${runId}`;
}

/**
 * BullMQ ids may not contain `:`; ours are `<runKey>.<job id>.<hash of name and command>`.
 * The job id (`<position>-<file-safe name>`, as in logs and the journal) makes two
 * jobs with equal names and commands two BullMQ jobs (one id for both would make the
 * second waiter replace the first and hang the run); the hash makes `--resume` of an
 * edited manifest adopt only the job that is still the same.
 *
 * `byName`, for a run with stages: their jobs, and the jobs that wait on them, are
 * numbered as stages expand, in an order that depends on which source ended first and
 * that `--resume` does not repeat; so the position is left out and the file-safe name
 * stands alone (names are unique in a manifest, and the hash tells apart names made
 * file-safe alike). Else a resumed run would enqueue again, under another number, a
 * job a worker still runs or finished.
 */
export function jobIdFor(
  runKey: string,
  job: { index: number; name: string; command: string },
  byName = false,
): string {
  const place = byName ? fileSafeName(job.name) : jobId(job);
  return `${runKey}.${place}.${jobFingerprint(job).slice(0, 16)}`;
}

/** jobrun: higher runs first; BullMQ: lower runs first, within 1..2^21. */
export function bullPriority(priority: number): number {
  return Math.min(MAX_BULL_PRIORITY, Math.max(1, Math.round(MID - priority)));
}
