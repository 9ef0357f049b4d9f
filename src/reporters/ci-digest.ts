import type { JobRecord } from '../model/events.js';
import { endedWell, type FinalStatus } from '../model/job.js';
import { formatDuration, statusCounts, type Paint } from './format.js';

/** Runs up to this many jobs print every job's line; larger ones summarize successes. */
export const DIGEST_ABOVE = 200;
/** How often a summarizing run prints its progress line. */
const DIGEST_EVERY_MS = 5000;

/**
 * Keeps a large run's CI log readable: every failure, timeout, skip and retry still
 * prints in full (with its output tail), but succeeded and cancelled jobs are counted,
 * not listed, and a progress line with the counts so far is printed every few seconds.
 * A run with a known total above `DIGEST_ABOVE` summarizes from its first job; a
 * streamed run (total unknown) once more than that many jobs ended.
 */
export class CiDigest {
  private ended = 0;
  private hidden = 0;
  private lastLine: number;
  private readonly startedAt: number;
  private readonly counts: Record<FinalStatus, number> = {
    succeeded: 0,
    cached: 0,
    failed: 0,
    timed_out: 0,
    skipped: 0,
    cancelled: 0,
  };

  constructor(
    private readonly total: number | null,
    private readonly now: () => number,
    private readonly print: (line: string) => void,
    private readonly paint: Paint,
  ) {
    this.startedAt = this.lastLine = now();
  }

  /** Summarizing from the start (the total is known and large)? */
  active(): boolean {
    return this.total === null ? this.ended > DIGEST_ABOVE : this.total > DIGEST_ABOVE;
  }

  /** Said once, up front, so a reader knows where the other lines went. */
  notice(): string {
    return `jobrun: a large run: succeeded jobs are counted, with a progress line every ${formatDuration(DIGEST_EVERY_MS)}; failures and retries print in full (--progress plain lists every job)`;
  }

  /** Counts a finished job; true when its line is summarized instead of printed. */
  absorb(job: JobRecord, progress: string): boolean {
    this.ended++;
    this.counts[job.status]++;
    const routine = endedWell(job.status) || job.status === 'cancelled';
    if (!routine || !this.active()) return false;
    this.hidden++;
    if (this.now() - this.lastLine >= DIGEST_EVERY_MS) this.flush(progress);
    return true;
  }

  /** Prints the progress line if jobs were summarized since the last one. */
  flush(progress: string): void {
    if (this.hidden === 0) return;
    const p = this.paint;
    this.print(
      `${p('gray', progress)} ${statusCounts(this.counts, p, true)} ${p('gray', `after ${formatDuration(this.now() - this.startedAt)} (${this.hidden} finished jobs not listed since the last line)`)}`,
    );
    this.hidden = 0;
    this.lastLine = this.now();
  }
}
