import { PriorityQueue } from './priority-queue.js';
import type { JobSpec } from '../model/job.js';

const NO_POOL = '';

/**
 * The jobs ready to start: one priority heap per pool, and how many of each pool
 * are running. `take` picks the best ready job among the pools still below their
 * limit, so a full pool never holds back another pool's jobs. Order: higher
 * priority first, then file order (fifo) or its reverse (lifo).
 */
export class ReadyQueues<T extends { spec: JobSpec }> {
  private readonly heaps = new Map<string, PriorityQueue<T>>();
  private readonly running = new Map<string, number>();
  private count = 0;

  /** `limitOf(pool)` is how many of a pool's jobs may run at once. */
  constructor(
    private readonly order: 'fifo' | 'lifo',
    private readonly limitOf: (pool: string) => number,
  ) {}

  /** Jobs waiting, in every pool. */
  get size(): number {
    return this.count;
  }

  before(a: T, b: T): boolean {
    if (a.spec.priority !== b.spec.priority) return a.spec.priority > b.spec.priority;
    return this.order === 'lifo' ? a.spec.index > b.spec.index : a.spec.index < b.spec.index;
  }

  push(item: T): void {
    const pool = item.spec.pool ?? NO_POOL;
    let heap = this.heaps.get(pool);
    if (!heap) {
      heap = new PriorityQueue<T>((a, b) => this.before(a, b));
      this.heaps.set(pool, heap);
    }
    heap.push(item);
    this.count++;
  }

  /**
   * Removes and returns the best job whose pool has room, counting it as running. With
   * `after`, a running job the taken one is to follow: its seat in its pool counts as free.
   */
  take(after?: T): T | undefined {
    let bestPool: string | undefined;
    let best: T | undefined;
    const seatOf = after && (after.spec.pool ?? NO_POOL);
    // forEach, not for-of: no iterator or entry array made for each of the many takes
    this.heaps.forEach((heap, pool) => {
      const top = heap.peek();
      const running = (this.running.get(pool) ?? 0) - (pool === seatOf ? 1 : 0);
      if (!top || running >= this.limitOf(pool)) return;
      if (!best || this.before(top, best)) {
        best = top;
        bestPool = pool;
      }
    });
    if (bestPool === undefined) return undefined;
    this.running.set(bestPool, (this.running.get(bestPool) ?? 0) + 1);
    this.count--;
    return this.heaps.get(bestPool)?.pop();
  }

  /** Would `item`'s pool have room for it once it gave back the seat `take` gave it? */
  roomWithout(item: T): boolean {
    const pool = item.spec.pool ?? NO_POOL;
    return (this.running.get(pool) ?? 1) - 1 < this.limitOf(pool);
  }

  /** A job returned by `take` stopped running. */
  release(item: T): void {
    const pool = item.spec.pool ?? NO_POOL;
    this.running.set(pool, (this.running.get(pool) ?? 1) - 1);
  }

  /** Removes and returns every waiting job. */
  drain(): T[] {
    return this.remove(() => true);
  }

  /** Removes and returns the waiting jobs `pick` chooses. */
  remove(pick: (item: T) => boolean): T[] {
    const removed = [...this.heaps.values()].flatMap((heap) => heap.removeWhere(pick));
    this.count -= removed.length;
    return removed;
  }
}
