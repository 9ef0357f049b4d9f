import type { Entry } from './entry.js';
import type { StopOrder } from './lifecycle.js';

/** What the queue per slot needs from the scheduler. */
export interface PrefetchHost {
  /** Takes the best ready job that may wait behind `ahead` (whose pool seat it may inherit). */
  take(ahead: Entry): Entry | undefined;
  /** Puts back a job from `take` that could not be queued after all. */
  putBack(entry: Entry): void;
  /** Queues `entry`'s next attempt behind `ahead`'s (running or queued); false when the executor cannot. */
  startAfter(entry: Entry, ahead: Entry): boolean;
  /** `entry` was withdrawn or handed back and never started; `promoted`: it held a slot. */
  withdrawn(entry: Entry, promoted: boolean): void;
  /** Does `a` start before `b` (priority, then order)? */
  before(a: Entry, b: Entry): boolean;
}

/** Most jobs queued behind one running job, whatever the executor allows. */
const MAX_CHAIN = 12;

/**
 * The queue per slot: while a slot's job runs, the next ready jobs already wait in its
 * spawner (a chain, each behind the one before, as deep as the executor allows), which
 * starts each the moment the one before is reaped, so no round trip through jobrun sits
 * between two jobs of a slot. Chains grow breadth first: every slot gets a next job
 * before any gets a second. Starting stays exact:
 *
 * - The spawner starts a queued job only after a job that exited 0; after a failure
 *   (a retry, a halt may follow) it hands back every queued one, and jobrun decides as
 *   without a queue.
 * - A withdrawal takes back every job queued in that slot (the spawner's one `c`), not
 *   only the one asked for: the others come back as withdrawn too, and wait again.
 * - No job waits behind one whose success would free jobs that need it: those may go first.
 * - A job that arrives with a higher priority than a queued one withdraws it.
 * - A slot that falls free with no ready job for it withdraws the best queued job, which
 *   then starts there: a short job never waits behind a long one while a slot is idle.
 * - A stop withdraws every queued job before it signals a running one; the spawner reads
 *   a withdrawal before it starts anything, so a queued job never starts after a stop.
 * - A withdrawn job goes back to the ready queue (or is cancelled, in a stop) as if it
 *   had never left it: it had no `job_start`, no attempt.
 *
 * A queued job is not in flight: it holds no slot until the job ahead of it ends, when
 * it takes over that slot (`next`) and counts as running, even before its start is heard
 * of. Its pool seat is taken as it is queued (sharing the seat of the job ahead when in
 * the same pool: a pool's limit also bounds how many of its jobs wait), and the
 * scheduler no longer counts it as ready: a stop withdraws it.
 */
export class Prefetch {
  /** Running or queued job → the job queued behind it. */
  private readonly behind = new Map<Entry, Entry>();
  /** Queued job → the job it waits behind (running, or queued itself). */
  private readonly ahead = new Map<Entry, Entry>();
  private readonly withdrawing = new Set<Entry>();
  /** Withdrawn by `reclaim`, on their way back to start in a free slot. */
  private readonly reclaiming = new Set<Entry>();

  constructor(private readonly host: PrefetchHost) {}

  /**
   * Queues jobs behind the running ones while ready jobs last: one more behind each
   * slot's chain in turn, so that no slot gets a second before every one has a first.
   */
  fill(running: Iterable<Entry>): void {
    // jobs on their way back (a pause, a scale, an overtake) are ready again before any
    // job after them queues: else they come back to chains full of later jobs, and wait
    // behind up to twelve of them (-j 1 scaled to 3: the twelfth started last of all)
    if (this.withdrawing.size > 0) return;
    // Called at every start and end: the chains' tails and depths go in two arrays, made
    // only when a chain has room, rather than an object per chain per call.
    let tails: Entry[] | undefined;
    let depths: number[] | undefined;
    for (const entry of running) {
      // the chain's last job and how many wait behind `entry`, unless one of it holds back
      let tail = entry;
      let depth = 0;
      let held = this.holdsBack(tail);
      for (let next = this.behind.get(tail); !held && next !== undefined; depth++) {
        tail = next;
        held = this.holdsBack(tail);
        next = this.behind.get(tail);
      }
      if (held || depth >= MAX_CHAIN) continue;
      (tails ??= []).push(tail);
      (depths ??= []).push(depth);
    }
    while (tails !== undefined && depths !== undefined) {
      let grownTails: Entry[] | undefined;
      let grownDepths: number[] | undefined;
      for (let i = 0; i < tails.length; i++) {
        const tail = tails[i]!;
        const depth = depths[i]!;
        if (depth >= MAX_CHAIN || tail.running?.canQueue !== true) continue;
        const next = this.host.take(tail);
        if (next === undefined) return;
        if (!this.host.startAfter(next, tail)) {
          this.host.putBack(next);
          continue;
        }
        this.behind.set(tail, next);
        this.ahead.set(next, tail);
        void next.running?.taken?.then((started) => started || this.gone(next));
        if (!this.holdsBack(next)) {
          (grownTails ??= []).push(next);
          (grownDepths ??= []).push(depth + 1);
        }
      }
      tails = grownTails;
      depths = grownDepths;
    }
  }

  /** `entry`'s attempt ended: the job queued behind it, now in its slot (its own chain behind it), if any. */
  next(entry: Entry): Entry | undefined {
    const next = this.behind.get(entry);
    if (next === undefined) return undefined;
    this.behind.delete(entry);
    this.ahead.delete(next);
    // a withdrawal it crossed is over: it started
    this.withdrawing.delete(next);
    this.reclaiming.delete(next);
    return next;
  }

  /**
   * A slot is free and no ready job can take it: the best queued jobs `may` start there
   * (up to `free`, less those already on their way back) are withdrawn, to start in it
   * at once instead of waiting for the job ahead of them, which may run for long.
   */
  reclaim(free: number, may: (entry: Entry) => boolean): void {
    const wanted = free - this.reclaiming.size;
    if (wanted <= 0) return;
    const best = [...this.ahead.keys()]
      .filter((queued) => !this.withdrawing.has(queued) && may(queued))
      .sort((a, b) => (this.host.before(a, b) ? -1 : this.host.before(b, a) ? 1 : 0))
      .slice(0, wanted);
    for (const queued of best) {
      this.withdrawing.add(queued);
      this.reclaiming.add(queued);
      queued.running?.withdraw?.();
    }
  }

  /** `entry` became ready: it withdraws the last queued job it should start before. */
  overtake(entry: Entry): void {
    let worst: Entry | undefined;
    // forEach: no iterator made for each job that becomes ready
    this.ahead.forEach((_, queued) => {
      if (this.withdrawing.has(queued) || !this.host.before(entry, queued)) return;
      if (worst === undefined || this.host.before(worst, queued)) worst = queued;
    });
    if (worst === undefined) return;
    this.withdrawing.add(worst);
    worst.running?.withdraw?.();
  }

  /**
   * A stop: every queued job is withdrawn; one that started first (its start crossed the
   * withdrawal) is then stopped with the running ones, or left to finish under `--halt soon`.
   */
  stop(order: StopOrder): void {
    for (const queued of this.ahead.keys()) {
      this.withdrawing.add(queued);
      if (order.killRunning) {
        queued.killed = true;
        queued.running?.stop(order.immediate);
      } else {
        queued.running?.withdraw?.();
      }
    }
  }

  /**
   * Withdraws the queued jobs `pick` chooses (`jobrun cancel`, and every one on a pause
   * or a scale, which must not start behind a running job); returns them. Each comes
   * back through `withdrawn` unless its start crossed the withdrawal.
   */
  withdraw(pick: (entry: Entry) => boolean): Entry[] {
    const picked = [...this.ahead.keys()].filter(pick);
    for (const queued of picked) {
      // one on its way back already (reclaimed, overtaken) comes back as the caller says
      if (this.withdrawing.has(queued)) continue;
      this.withdrawing.add(queued);
      queued.running?.withdraw?.();
    }
    return picked;
  }

  /** The jobs queued behind running ones (a spawner may have started some, unheard yet). */
  queued(): Iterable<Entry> {
    return this.ahead.keys();
  }

  /** A job that jobs still waiting need: its success may free one that goes first. */
  private holdsBack(entry: Entry): boolean {
    const { dependents } = entry;
    for (let i = 0; i < dependents.length; i++)
      if (dependents[i]!.status === 'pending') return true;
    return false;
  }

  /**
   * `entry` was withdrawn or handed back. The jobs of its chain come back one by one, and
   * one that came back may be queued again (a new link) before the next one is heard of:
   * a link is only undone while it is still the one this job made.
   */
  private gone(entry: Entry): void {
    this.withdrawing.delete(entry);
    this.reclaiming.delete(entry);
    const ahead = this.ahead.get(entry);
    if (ahead !== undefined) {
      this.ahead.delete(entry);
      if (this.behind.get(ahead) === entry) this.behind.delete(ahead);
    }
    // the job that was queued behind it comes back too: its link to it is over
    const after = this.behind.get(entry);
    if (after !== undefined && this.ahead.get(after) === entry) this.behind.delete(entry);
    this.host.withdrawn(entry, ahead === undefined);
  }
}
