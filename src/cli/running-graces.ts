import { shellQuoteBytes } from '../manifest/quote.js';
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

/** The most time a job gets between SIGTERM and SIGKILL (streamed jobs: the default). */
export function longestGrace(jobs: JobSpec[] | AsyncIterable<JobSpec>): number {
  return Array.isArray(jobs) ? jobs.reduce((most, j) => Math.max(most, j.killGraceMs), 0) : 5000;
}

/**
 * The command line that resumes this run: jobrun's own arguments as given (their bytes:
 * `rawArgs`), quoted for a shell, with `--resume` added before `--` (where flags end).
 */
export function resumeCommand(args: readonly string[]): string {
  const words = [...args];
  if (!words.includes('--resume')) {
    const dash = words.indexOf('--');
    words.splice(dash === -1 ? words.length : dash, 0, '--resume');
  }
  return ['jobrun', ...words.map(shellQuoteBytes)].join(' ');
}
