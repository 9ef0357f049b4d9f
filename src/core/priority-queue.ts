/**
 * A binary heap: `push` and `pop` are O(log n). `before(a, b)` says whether `a`
 * must come out before `b`; ties must be broken by the caller (the scheduler uses
 * the job's file order) so the order is total and stable.
 */
export class PriorityQueue<T> {
  private readonly heap: T[] = [];

  constructor(private readonly before: (a: T, b: T) => boolean) {}

  get size(): number {
    return this.heap.length;
  }

  peek(): T | undefined {
    return this.heap[0];
  }

  push(item: T): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(heap[i] as T, heap[parent] as T)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): T | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last !== undefined) {
      heap[0] = last;
      this.sinkFrom(0);
    }
    return top;
  }

  /** Removes and returns every item matching `predicate`, keeping the heap valid. O(n). */
  removeWhere(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (const item of this.heap) (predicate(item) ? removed : kept).push(item);
    if (removed.length === 0) return removed;
    this.heap.length = 0;
    this.heap.push(...kept);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.sinkFrom(i);
    return removed;
  }

  private sinkFrom(start: number): void {
    const heap = this.heap;
    let i = start;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let best = i;
      if (left < heap.length && this.before(heap[left] as T, heap[best] as T)) best = left;
      if (right < heap.length && this.before(heap[right] as T, heap[best] as T)) best = right;
      if (best === i) return;
      this.swap(i, best);
      i = best;
    }
  }

  private swap(a: number, b: number): void {
    const heap = this.heap;
    const tmp = heap[a] as T;
    heap[a] = heap[b] as T;
    heap[b] = tmp;
  }
}
