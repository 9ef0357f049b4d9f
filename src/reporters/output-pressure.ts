import type { Backpressure } from '../exec/types.js';

/**
 * jobrun's own output falling behind its reader (`jobrun … | slow-reader`, a reader
 * stopped with Ctrl-Z): one of its streams holds more than it can pass on (a write
 * returned false and it has not drained), or a reporter has more job output waiting
 * than it lets pile up (`holdWhile`: grouped copies not yet written). While it is, the
 * scheduler starts no job and piped job output is not read (`PipeOutput`), so the jobs
 * block on their own output, as under GNU parallel, and jobrun's memory stays bounded.
 * A stream that failed or closed (EPIPE) holds nothing back: that is a stop, not a wait
 * (Node's stdout still says it needs to drain then, for good).
 */
export class OutputPressure implements Backpressure {
  private readonly waiting: (() => void)[] = [];
  private readonly watched = new Set<NodeJS.WritableStream>();
  private readonly behind: (() => boolean)[] = [];
  /** Streams that failed or closed: whatever they say, they hold nothing back. */
  private readonly gone = new Set<NodeJS.WritableStream>();

  constructor(private readonly streams: readonly NodeJS.WritableStream[]) {
    for (const stream of streams) {
      const gone = (): void => {
        this.gone.add(stream);
        this.recheck();
      };
      stream.once('error', gone);
      stream.once('close', gone);
    }
  }

  get blocked(): boolean {
    return this.streams.some((s) => this.full(s)) || this.behind.some((behind) => behind());
  }

  /** Also blocked while `behind` says so; its owner calls `recheck` when that may have changed. */
  holdWhile(behind: () => boolean): void {
    this.behind.push(behind);
  }

  whenClear(clear: () => void): void {
    this.waiting.push(clear);
    this.recheck();
  }

  /** Calls the waiting `whenClear`s if nothing is blocked; else waits for the streams. */
  recheck(): void {
    if (this.waiting.length === 0) return;
    if (!this.blocked) {
      for (const clear of this.waiting.splice(0)) clear();
      return;
    }
    for (const stream of this.streams) if (this.full(stream)) this.watch(stream);
  }

  /** A write to `stream` returned false and it has not drained, nor failed since. */
  private full(stream: NodeJS.WritableStream): boolean {
    if (this.gone.has(stream)) return false;
    return (stream as { writableNeedDrain?: boolean }).writableNeedDrain === true;
  }

  /** Looks again once `stream` drained (or failed: see the constructor). */
  private watch(stream: NodeJS.WritableStream): void {
    if (this.watched.has(stream)) return;
    this.watched.add(stream);
    stream.once('drain', () => {
      this.watched.delete(stream);
      this.recheck();
    });
  }
}
