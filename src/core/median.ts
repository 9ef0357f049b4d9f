import type { JobSpec } from '../model/job.js';

/**
 * The median of the durations of jobs that succeeded, for `timeout: 300%`.
 * Keeps at most `cap` samples (a uniform reservoir), so memory stays bounded on
 * endless streamed input while the estimate stays honest.
 */
export class MedianTracker {
  private readonly samples: number[] = [];
  private seen = 0;
  private cached: number | undefined;

  constructor(
    private readonly cap = 10_001,
    private readonly random: () => number = Math.random,
  ) {}

  add(value: number): void {
    this.seen++;
    this.cached = undefined;
    if (this.samples.length < this.cap) {
      this.samples.push(value);
      return;
    }
    const slot = Math.floor(this.random() * this.seen);
    if (slot < this.cap) this.samples[slot] = value;
  }

  /** Undefined until at least one value was added. */
  median(): number | undefined {
    if (this.samples.length === 0 || this.cached !== undefined) return this.cached;
    const sorted = [...this.samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    this.cached =
      sorted.length % 2 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
    return this.cached;
  }
}

/** The timeout of a job's next attempt: fixed, or a percentage of the median so far. */
export function timeoutFor(spec: JobSpec, medians: MedianTracker): number | undefined {
  if (!spec.timeout) return undefined;
  if ('ms' in spec.timeout) return spec.timeout.ms;
  const median = medians.median();
  return median === undefined ? undefined : Math.ceil((median * spec.timeout.percent) / 100);
}
