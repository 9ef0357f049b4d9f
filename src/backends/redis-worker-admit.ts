import { UnrecoverableError, type Job } from 'bullmq';
import type { AttemptResult } from '../model/attempt.js';
import { parsePayload } from './payload.js';
import { DEFAULT_LOST_RETRIES, type PoolCaps } from './pool-caps.js';
import { DROPPED_UNSTARTED } from './redis-cancel.js';
import { poolOfQueue } from './redis-names.js';
import type { RunCaps, StartCheck } from './redis-run-cap.js';
import type { AttemptRunner } from './redis-worker-attempt.js';
import type { HeldJob, WorkerJobs } from './redis-worker-jobs.js';
import type { WorkerCache } from './worker-cache.js';
import type { WorkerSlots } from './worker-slots.js';

export interface AdmissionOptions {
  label: string;
  caps: PoolCaps;
  slots: WorkerSlots;
  jobs: WorkerJobs;
  runner: AttemptRunner;
  /** The run's cancel mark and `jobrun scale -j` limit across every worker. */
  runCaps: RunCaps;
  /** A Redis error, as the worker's log says it (no password). */
  describe: (err: unknown) => string;
  /** Lowers how many of the queue's jobs BullMQ fetches at once for this worker. */
  lowerFetch: (queue: string, cap: number) => void;
  log: (line: string) => void;
  /** Looks jobs with `cache` up before they start (`worker-cache.ts`). */
  cache?: WorkerCache;
}

/**
 * What a worker does with each job BullMQ hands it, up to the start: it decides whether
 * and when the attempt runs. An invalid payload, or a job lost with its worker more
 * often than its `lost_retries`, is refused at once; otherwise the job waits for its
 * pool's cap on this worker and for a slot, is dropped if its run was cancelled
 * meanwhile, and runs unless its run is at its limit across workers (`jobrun scale
 * -j`) or paused (`jobrun pause`, of the run or the job's pool): then it gives its slot
 * back, waits for a place under the limit or the run's `unpause`, and goes again.
 */
export class Admission {
  constructor(private readonly o: AdmissionOptions) {}

  async process(queue: string, job: Job): Promise<AttemptResult> {
    const { caps, slots, jobs, log } = this.o;
    const parsed = parsePayload(job.data);
    if ('reason' in parsed) {
      log(`refused job ${job.id ?? '?'} from ${queue}: ${parsed.reason}`);
      throw new UnrecoverableError(`worker ${this.o.label} refused the job: ${parsed.reason}`);
    }
    const p = parsed.payload;
    const lostRetries = p.lostRetries ?? DEFAULT_LOST_RETRIES;
    if (job.stalledCounter > lostRetries) {
      log(`refused ${p.name}: lost with its worker ${job.stalledCounter} times`);
      throw new UnrecoverableError(
        `not run again: lost with its worker ${job.stalledCounter} times (lost_retries: ${lostRetries})`,
      );
    }
    const id = job.id ?? '';
    const held = jobs.hold(id);
    const pool = poolKey(queue);
    // the pool as the run names it, which its pause names ('' for pool-less jobs)
    const runPool = poolOfQueue(queue) ?? '';
    let saidPaused = false;
    const cap = caps.capOf(pool, p.perWorker);
    // fetch no more of this pool than may run here: the rest stay for other workers
    this.o.lowerFetch(queue, cap);
    await caps.acquire(pool, cap);
    try {
      for (;;) {
        const slot = await slots.acquire();
        try {
          // in the slot, as a local lookup holds one; a hit ends the job without a run
          const attempt = Math.max(1, job.attemptsStarted);
          const lookup = await this.o.cache?.lookup(p, attempt, `${this.o.label}/${slot + 1}`);
          if (lookup?.hit) return lookup.hit;
          // checked after the wait for a slot, the last thing before the start: a run
          // stopped meanwhile (its mark, or a cancel message for this job) starts nothing
          const said = held.cancelled ? undefined : await this.check(p.runKey, id, runPool, held);
          if (said === 'cancelled' || held.cancelled) {
            // a message for this job alone (`jobrun cancel JOB`, a drain) leaves the run
            // going; a stop of the whole run marks it before its messages go out
            const stopped = said === 'cancelled' || (await this.o.runCaps.cancelled(p.runKey));
            log(`skip ${p.name}: ${stopped ? 'its run was cancelled' : 'its run called it off'}`);
            throw new UnrecoverableError(DROPPED_UNSTARTED);
          }
          if (said === 'go') {
            jobs.release(id);
            return await this.o.runner.run(job, id, p, slot, lookup);
          }
          if ((said === 'paused' || said === 'pool paused') && !saidPaused) {
            saidPaused = true;
            log(
              `hold ${p.name}: ${said === 'paused' ? 'its run' : `its pool ${runPool}`} is paused`,
            );
          }
        } finally {
          jobs.running.delete(id);
          slots.release(slot);
        }
        // the run is at its limit (`jobrun scale -j`) or paused: wait, not in a slot
        await this.o.runCaps.acquire(
          p.runKey,
          id,
          runPool,
          () => held.cancelled,
          () => jobs.notChecked(`${p.runKey}.`),
        );
      }
    } finally {
      jobs.release(id);
      caps.release(pool);
      this.o.runCaps.release(id);
    }
  }

  /** The run's cancel mark, pause and limit, in one round trip (`RunCaps.check`). */
  private check(runKey: string, id: string, pool: string, held: HeldJob): Promise<StartCheck> {
    held.checked = true; // before the send: see `WorkerJobs.notChecked`
    return this.o.runCaps.check(runKey, id, pool).catch((err: unknown) => {
      this.o.log(`cannot check whether run ${runKey} was cancelled: ${this.o.describe(err)}`);
      throw err;
    });
  }
}

/** The pool a queue serves, as caps name it (`default` for pool-less jobs). */
export function poolKey(queue: string): string {
  return poolOfQueue(queue) ?? 'default';
}
