import type { JobSpec } from '../model/job.js';

/**
 * The median of the durations of jobs that succeeded, for `timeout: 300%`.
 * Keeps at most `cap` samples (a uniform reservoir), so memory stays bounded on
 * endless streamed input while the estimate stays honest. The samples are also kept
 * sorted, each added or replaced one moved into place by binary search, so asking for
 * the median at every start costs nothing and adding one sample costs a search and a
 * move, never a sort.
 */
export class MedianTracker {
  /** The reservoir, in arrival slots (a random slot is replaced once it is full). */
  private readonly samples: number[] = [];
  /** The same values, ascending. */
  private readonly sorted: number[] = [];
  private seen = 0;

  constructor(
    private readonly cap = 10_001,
    private readonly random: () => number = Math.random,
  ) {}

  add(value: number): void {
    this.seen++;
    if (this.samples.length < this.cap) {
      this.samples.push(value);
      this.sorted.splice(insertAt(this.sorted, value), 0, value);
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot >= this.cap) return;
    const old = this.samples[slot] ?? value;
    this.samples[slot] = value;
    this.sorted.splice(insertAt(this.sorted, old) - 1, 1);
    this.sorted.splice(insertAt(this.sorted, value), 0, value);
  }

  /** Undefined until at least one value was added. */
  median(): number | undefined {
    const { sorted } = this;
    if (sorted.length === 0) return undefined;
    const mid = sorted.length >> 1;
    return sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  }
}

/** Where `value` goes in ascending `list`: after every element ≤ it. */
function insertAt(list: number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((list[mid] ?? 0) <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The timeout of a job's next attempt: fixed, or a percentage of the median so far. */
export function timeoutFor(spec: JobSpec, medians: MedianTracker): number | undefined {
  if (!spec.timeout) return undefined;
  if ('ms' in spec.timeout) return spec.timeout.ms;
  const median = medians.median();
  return median === undefined ? undefined : Math.ceil((median * spec.timeout.percent) / 100);
}
