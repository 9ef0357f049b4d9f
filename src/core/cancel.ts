import type { Dispatch } from './dispatch.js';
import { notStarted, type Entry } from './entry.js';
import type { ReadyQueues } from './ready-queues.js';
import { CANCELLED_BY_USER, type CancelOutcome } from './steering.js';

/** Where a job not yet ended may be, and how the scheduler ends one. */
export interface CancelScope {
  /** Jobs waiting for their needs. */
  waiting: Iterable<Entry>;
  queues: ReadyQueues<Entry>;
  dispatch: Pick<Dispatch, 'dropRetries'>;
  running: Iterable<Entry>;
  /** Jobs queued in a spawner behind a running one (`Prefetch`). */
  queuedAhead?: { withdraw(pick: (entry: Entry) => boolean): Entry[] };
  end(entry: Entry): void;
}

/**
 * `jobrun cancel`: every job of one of `names`, wherever it waits (needs, queue,
 * retry backoff), ends `cancelled` at once; a running one is stopped (TERM, KILL
 * after its grace) and ends `cancelled` when its attempt does, not retried, as it is
 * marked `killed` with its own reason.
 */
export function cancelJobs(names: string[], scope: CancelScope): CancelOutcome {
  const wanted = new Set(names);
  const pick = (entry: Entry) => wanted.has(entry.spec.name);
  const outcome: CancelOutcome = { cancelled: [], stopping: [], unknown: [] };
  const found = new Set<string>();
  const end = (entry: Entry) => {
    if (!notStarted(entry)) return; // ended meanwhile, by an earlier one's cascade
    found.add(entry.spec.name);
    outcome.cancelled.push(entry.spec.name);
    scope.end(entry);
  };
  [...scope.waiting].filter(pick).forEach(end);
  scope.queues.remove(pick).forEach(end);
  scope.dispatch.dropRetries(pick).forEach(end);
  // they end cancelled once withdrawn, or are stopped if their start crossed it
  for (const entry of scope.queuedAhead?.withdraw(pick) ?? []) {
    entry.cancelReason = CANCELLED_BY_USER;
    found.add(entry.spec.name);
    outcome.cancelled.push(entry.spec.name);
  }
  for (const entry of scope.running) {
    if (!pick(entry) || entry.killed) continue;
    found.add(entry.spec.name);
    outcome.stopping.push(entry.spec.name);
    entry.killed = true;
    entry.cancelReason = CANCELLED_BY_USER;
    entry.running?.stop(false);
  }
  outcome.unknown = names.filter((name) => !found.has(name));
  return outcome;
}
