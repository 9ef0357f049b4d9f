import { jobId, type JobSpec } from '../model/job.js';

/**
 * The kill grace of each running attempt, so the "stopping" line can say how long the
 * jobs that are running now may take (not the longest grace of the whole plan).
 */
export class RunningGraces {
  private readonly graces = new Map<string, number>();

  started(job: JobSpec): void {
    this.graces.set(jobId(job), job.killGraceMs);
  }

  ended(id: string): void {
    this.graces.delete(id);
  }

  /** The longest grace among running attempts; `fallback` when none is known (remote runs). */
  longest(fallback: number): number {
    if (this.graces.size === 0) return fallback;
    return Math.max(...this.graces.values());
  }
}
