import { encodeBytes } from '../model/bytes.js';

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
   * The same for a line of job output, whose bytes that are not UTF-8 are escapes
   * (`decodeBytes`): a stream gets them back as they were; a terminal shows U+FFFD.
   */
  exactLine(text: string): void;
  /**
   * Runs `copy` with the raw stream once everything written before is out; lines
   * and holds that come later wait until it settles.
   */
  hold(copy: Copy): Promise<void>;
}

/**
 * How a copy left its stream. A job's output copied byte for byte may end without a
 * newline (`printf err`); the next line then starts with one, so jobrun's own lines
 * are never glued to a job's (`err2 jobs: …`) while the job's bytes stay as they were.
 */
export interface CopyEnd {
  midLine: boolean;
}

/** A hold's copy of output to the raw stream. */
export type Copy = (out: NodeJS.WritableStream) => Promise<CopyEnd | void>;

type Item =
  | { text: string; writeLine: (text: string) => void }
  | { copy: Copy; out: NodeJS.WritableStream; done: () => void };

/**
 * The ordering shared by every sink: lines pass straight through while no copy
 * runs; otherwise lines and copies queue in the order they came. Several sinks may
 * share one order (`StreamSink`'s `order`), each writing to its own stream: with
 * stdout and stderr merged (`2>&1`) they then reach the reader in the order written.
 */
export class OrderedOutput {
  private busy = false;
  /** The last copy ended its stream without a newline (see `CopyEnd`). */
  private midLine = false;
  private readonly items: Item[] = [];

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly writeLine: (text: string) => void,
    private readonly hooks: { beforeCopy?: () => void; afterCopy?: () => void } = {},
  ) {}

  line(text: string, writeLine = this.writeLine): void {
    if (this.busy) this.items.push({ text, writeLine });
    else this.write(text, writeLine);
  }

  hold(copy: Copy, out = this.out): Promise<void> {
    return new Promise((done) => {
      this.items.push({ copy, out, done });
      if (!this.busy) this.drain();
    });
  }

  private drain(): void {
    for (let item = this.items.shift(); item; item = this.items.shift()) {
      if ('text' in item) {
        this.write(item.text, item.writeLine);
        continue;
      }
      const { copy, out, done } = item;
      this.busy = true;
      this.hooks.beforeCopy?.();
      const next = (end: CopyEnd | void) => {
        this.midLine = end?.midLine ?? false;
        this.busy = false;
        this.hooks.afterCopy?.();
        done();
        this.drain();
      };
      copy(out).then(next, () => next());
      return;
    }
  }

  private write(text: string, writeLine: (text: string) => void): void {
    writeLine(this.midLine ? `\n${text}` : text);
    this.midLine = false;
  }
}

export class StreamSink implements LineSink {
  private readonly queue: OrderedOutput;
  private readonly writeLine: (text: string) => void;
  private readonly writeExact: (text: string) => void;

  /** `order`: another sink's order to share (see `OrderedOutput`); by default its own. */
  constructor(
    readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    order?: StreamSink,
  ) {
    this.writeLine = (text) => out.write(text + '\n');
    this.writeExact = (text) => out.write(encodeBytes(text + '\n'));
    this.queue = order?.queue ?? new OrderedOutput(out, this.writeLine);
  }

  line(text: string): void {
    this.queue.line(text, this.writeLine);
  }

  exactLine(text: string): void {
    this.queue.line(text, this.writeExact);
  }

  hold(copy: Copy): Promise<void> {
    return this.queue.hold(copy, this.out);
  }
}
