import type { HaltPolicy } from './halt.js';
import type { Entry } from './entry.js';
import type { StopOrder } from './lifecycle.js';
import { Prefetch } from './prefetch.js';
import { attemptsRecord } from './records.js';
import type { SchedulerCore } from './scheduler-core.js';

/** What queueing ahead asks of the other policies. */
export interface QueueAheadHooks {
  /** No job of any pool may start (the run is paused). */
  holding(): boolean;
  /** `entry` is looked up in the cache before it runs: it may not need to run at all. */
  lookupFirst(entry: Entry): boolean;
  /** Waits for the end of `entry`'s attempt, which started in the slot it took over. */
  watch(entry: Entry): void;
}

/**
 * The scheduler's side of `Prefetch` (the queue per slot): when it fills,
 * what a queued job counts as, and where a withdrawn one goes. Only for executors that
 * can queue a job behind a running one, and never when a success halts the run: a
 * job queued behind the one whose success halts it would start before the halt.
 */
export function queueAheadFor(
  core: SchedulerCore,
  hooks: QueueAheadHooks,
  halt: HaltPolicy | undefined,
): QueueAhead | undefined {
  if (!core.dispatch.queuesAhead || halt?.on === 'success') return undefined;
  return new QueueAhead(core, hooks);
}

export class QueueAhead {
  private readonly prefetch: Prefetch;

  constructor(
    private readonly core: SchedulerCore,
    private readonly hooks: QueueAheadHooks,
  ) {
    const { queues } = core;
    this.prefetch = new Prefetch({
      take: (running) => queues.take(running),
      putBack: (entry) => {
        queues.release(entry);
        queues.push(entry);
      },
      startAfter: (entry, running) => this.queueBehind(entry, running),
      withdrawn: (entry, promoted) => this.withdrawn(entry, promoted),
      before: (a, b) => queues.before(a, b),
    });
  }

  /** Every slot busy: ready jobs wait in the spawners, behind the running ones. */
  fill(): void {
    const { queues, lifecycle, inFlight, dispatch, clock } = this.core;
    if (queues.size === 0 || lifecycle.stopping) return;
    // paused, or scaled below the jobs running: nothing may wait to take over a slot
    if (this.hooks.holding() || inFlight.size > dispatch.workers) return;
    // held back (jobrun's output behind its reader): a queued job would start regardless
    if (dispatch.gateWait(clock.now()) > 0) return;
    this.prefetch.fill(inFlight);
  }

  /** `entry`'s attempt started: another job may queue behind it now. */
  started(entry: Entry): void {
    void entry.running?.started?.then(() => this.fill());
  }

  /** `entry`'s attempt ended: the job queued behind it, if any, started in its slot. */
  handOver(entry: Entry): void {
    const next = this.prefetch.next(entry);
    this.core.dispatch.ended(entry, next !== undefined);
    if (next === undefined) return;
    this.core.inFlight.add(next);
    this.hooks.watch(next);
    // cancelled while queued, its start crossed the withdrawal: stopped as a running one
    if (next.cancelReason !== undefined) {
      next.killed = true;
      next.running?.stop(false);
    }
  }

  /** `free` slots and no ready job for them: queued jobs come back to start there. */
  reclaim(free: number): void {
    this.prefetch.reclaim(free, (entry) => this.core.queues.roomWithout(entry));
  }

  /** A ready job: it withdraws a queued one it should start before. */
  overtake(entry: Entry): void {
    this.prefetch.overtake(entry);
  }

  /** Withdraws the queued jobs `pick` chooses; see `Prefetch.withdraw`. */
  withdraw(pick: (entry: Entry) => boolean): Entry[] {
    return this.prefetch.withdraw(pick);
  }

  stop(order: StopOrder): void {
    this.prefetch.stop(order);
  }

  /** The jobs queued behind running ones; see `Prefetch.queued`. */
  queued(): Iterable<Entry> {
    return this.prefetch.queued();
  }

  /** A queued job is no longer a ready one: a stop withdraws it rather than cancel it. */
  private queueBehind(entry: Entry, running: Entry): boolean {
    // a job not yet looked up in the cache may not need to run at all
    if (this.hooks.lookupFirst(entry)) return false;
    const request = this.core.startRequest(entry, this.core.clock.now());
    if (!this.core.dispatch.startAfter(entry, running, request)) return false;
    entry.status = 'running';
    return true;
  }

  /** A queued job never started: back to the ready queue, or cancelled in a stop. */
  private withdrawn(entry: Entry, promoted: boolean): void {
    const { inFlight, dispatch, queues, lifecycle, clock } = this.core;
    if (promoted) {
      inFlight.delete(entry);
      dispatch.ended(entry);
    }
    entry.slot = undefined;
    entry.running = undefined;
    queues.release(entry);
    if (lifecycle.stopping || entry.cancelReason !== undefined) {
      const reason = entry.cancelReason ?? lifecycle.reason;
      this.core.end(entry, attemptsRecord(entry, 'cancelled', clock.now(), reason));
    } else {
      entry.status = 'queued';
      queues.push(entry);
    }
    this.core.pump();
  }
}
