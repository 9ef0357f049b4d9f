/**
 * Where lines for people go. The plain sink writes straight to a stream; the live
 * renderer implements the same interface and prints the lines above its area.
 * Both let a reporter "hold" the stream to copy a whole log file through it:
 * whatever is written after the hold was asked for waits its turn, so a grouped
 * job output is never torn by another job's status line, and order is kept.
 */
export interface LineSink {
  /** Writes text followed by a newline (the text may hold several lines). */
  line(text: string): void;
  /**
   * Runs `copy` with the raw stream once everything written before is out; lines
   * and holds that come later wait until it settles.
   */
  hold(copy: (out: NodeJS.WritableStream) => Promise<void>): Promise<void>;
}

type Item =
  | { text: string; writeLine: (text: string) => void }
  | {
      copy: (out: NodeJS.WritableStream) => Promise<void>;
      out: NodeJS.WritableStream;
      done: () => void;
    };

/**
 * The ordering shared by every sink: lines pass straight through while no copy
 * runs; otherwise lines and copies queue in the order they came. Several sinks may
 * share one order (`StreamSink`'s `order`), each writing to its own stream: with
 * stdout and stderr merged (`2>&1`) they then reach the reader in the order written.
 */
export class OrderedOutput {
  private busy = false;
  private readonly items: Item[] = [];

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly writeLine: (text: string) => void,
    private readonly hooks: { beforeCopy?: () => void; afterCopy?: () => void } = {},
  ) {}

  line(text: string, writeLine = this.writeLine): void {
    if (this.busy) this.items.push({ text, writeLine });
    else writeLine(text);
  }

  hold(copy: (out: NodeJS.WritableStream) => Promise<void>, out = this.out): Promise<void> {
    return new Promise((done) => {
      this.items.push({ copy, out, done });
      if (!this.busy) this.drain();
    });
  }

  private drain(): void {
    for (let item = this.items.shift(); item; item = this.items.shift()) {
      if ('text' in item) {
        item.writeLine(item.text);
        continue;
      }
      const { copy, out, done } = item;
      this.busy = true;
      this.hooks.beforeCopy?.();
      const next = () => {
        this.busy = false;
        this.hooks.afterCopy?.();
        done();
        this.drain();
      };
      copy(out).then(next, next);
      return;
    }
  }
}

export class StreamSink implements LineSink {
  private readonly queue: OrderedOutput;
  private readonly writeLine: (text: string) => void;

  /** `order`: another sink's order to share (see `OrderedOutput`); by default its own. */
  constructor(
    readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    order?: StreamSink,
  ) {
    this.writeLine = (text) => out.write(text + '\n');
    this.queue = order?.queue ?? new OrderedOutput(out, this.writeLine);
  }

  line(text: string): void {
    this.queue.line(text, this.writeLine);
  }

  hold(copy: (out: NodeJS.WritableStream) => Promise<void>): Promise<void> {
    return this.queue.hold(copy, this.out);
  }
}
