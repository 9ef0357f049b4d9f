import type { Emit, JobRecord } from '../model/events.js';
import type { Clock } from './clock.js';
import type { Dispatch, StartRequest } from './dispatch.js';
import type { Entry } from './entry.js';
import type { Lifecycle, StopOrder } from './lifecycle.js';
import type { Needs } from './needs.js';
import type { ReadyQueues } from './ready-queues.js';

/**
 * What the scheduler's policies (controls, queue-ahead, cache lookup, pipeline) share:
 * its state, and the moves only the scheduler makes. Each policy takes this and nothing
 * else of the scheduler, so what one may touch is visible in one place.
 */
export interface SchedulerCore {
  readonly clock: Clock;
  readonly emit: Emit;
  readonly dispatch: Dispatch;
  readonly queues: ReadyQueues<Entry>;
  /** Every job not yet ended that waits for its needs (and the rest, by name). */
  readonly needs: Needs;
  readonly lifecycle: Lifecycle;
  /** Jobs holding a slot: running, or being looked up in the cache. */
  readonly inFlight: Set<Entry>;
  /** Moves a job to its final state, settles its dependants, applies the halt policy. */
  end(entry: Entry, record: JobRecord): void;
  /** Starts as many ready jobs as slots, pools and the start gate allow. */
  pump(): void;
  /** Obeys a stop order (none: nothing to do). */
  stop(order: StopOrder | undefined): void;
  /** An exception in a promise callback: running jobs are killed and the run rejects. */
  crash(error: unknown): void;
  /** What the next attempt of `entry` starts with. */
  startRequest(entry: Entry, now: number): StartRequest;
}
