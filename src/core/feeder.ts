import type { JobSpec } from '../model/job.js';

/**
 * Reads streamed input with backpressure: it pulls the next job only while fewer
 * than `maxQueue` wait to start, so memory stays flat however long the input is.
 * Whoever makes room (a job taken from the queue, a job ended) calls `wake`.
 */
export class Feeder {
  private waiting: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly maxQueue: number,
    private readonly queued: () => number,
  ) {}

  /** Pulls every job from `source` into `accept`, pausing while the queue is full. */
  async feed(source: AsyncIterable<JobSpec>, accept: (spec: JobSpec) => void): Promise<void> {
    for await (const spec of source) {
      if (this.stopped) break;
      accept(spec);
      while (this.queued() >= this.maxQueue && !this.stopped) {
        await new Promise<void>((resolve) => (this.waiting = resolve));
      }
    }
  }

  /** Room may have been made: resume reading if the queue is below its cap. */
  wake(): void {
    if (this.waiting && this.queued() < this.maxQueue) this.release();
  }

  /** Reads no more input. */
  stop(): void {
    this.stopped = true;
    this.release();
  }

  private release(): void {
    const resume = this.waiting;
    this.waiting = undefined;
    resume?.();
  }
}
