import type { Ora } from 'ora';
import { FrameBuffer } from './frame-buffer.js';
import { OrderedOutput, type Copy, type LineSink } from './sink.js';
import { truncate } from './text.js';

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
/** Lines written above the area are flushed at the next frame, or at once past this many. */
const MAX_PENDING = 500;
/** ora draws its spinner and a space before the block's first line. */
const SPINNER_COLUMNS = 2;

export interface TerminalLike {
  write(text: string): boolean;
  columns?: number;
  rows?: number;
}

export interface RendererOptions {
  intervalMs?: number;
  /** Colour ora's spinner (cyan) or not. */
  color?: boolean;
}

/**
 * Owns the bottom of the terminal: a block of lines redrawn in place at most every
 * `intervalMs`, with everything else printed above it. ora draws the block: its
 * spinner, then the block as its text; it counts the rows the block takes (wrapped
 * rows included, measured with string-width) and erases exactly those before the
 * next frame. ora is imported when the live view starts, and only then: no other
 * mode pays for it. It is driven, not started: its own timer and its hooks on
 * stdout/stderr would redraw on every write, so this class keeps the batching (one
 * frame per interval, lines above flushed with it, grouped output held) and gives
 * ora a `FrameBuffer`, so each frame still reaches the terminal as one write.
 * Lines are also cut to the width so they do not wrap at all, and the block never
 * gets taller than the screen. The timer is unref'd. The cursor is hidden while the
 * block is shown and restored by `stop()`, and by a process 'exit' listener should
 * `stop()` never come.
 */
export class LiveRenderer implements LineSink {
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private active = false;
  private spinner: Ora | undefined;
  /** Settles once ora is loaded and the first frame can be drawn. */
  ready: Promise<void> = Promise.resolve();
  private readonly buffer = new FrameBuffer(() => ({ columns: this.columns, rows: this.rows }));
  private readonly queue: OrderedOutput;
  private readonly intervalMs: number;
  private readonly restore = () => {
    this.out.write(SHOW_CURSOR);
  };

  constructor(
    private readonly out: TerminalLike & NodeJS.WritableStream,
    private readonly frame: () => string[],
    options: RendererOptions | number = {},
  ) {
    const opts = typeof options === 'number' ? { intervalMs: options } : options;
    this.intervalMs = opts.intervalMs ?? 100;
    this.color = opts.color ?? false;
    this.queue = new OrderedOutput(out, (text) => this.addLine(text), {
      beforeCopy: () => {
        this.held = true;
        this.out.write(this.clear() + this.takePending());
      },
      afterCopy: () => {
        this.held = false;
        this.render();
      },
    });
  }

  private readonly color: boolean;

  get columns(): number {
    return this.out.columns || 80;
  }

  get rows(): number {
    return this.out.rows || 24;
  }

  start(): void {
    if (this.active) return;
    this.active = true;
    this.out.write(HIDE_CURSOR);
    process.once('exit', this.restore);
    this.ready = import('ora').then(({ default: ora }) => {
      if (!this.active) return; // stopped before ora arrived
      this.spinner = ora({
        stream: this.buffer,
        isEnabled: true,
        discardStdin: false, // stdin belongs to the jobs (and Ctrl-C must reach us)
        hideCursor: false, // done here, once, with the exit hook above
        color: this.color ? 'cyan' : false,
      });
    });
    this.timer = setInterval(() => this.render(), this.intervalMs);
    this.timer.unref();
  }

  line(text: string): void {
    this.queue.line(text);
  }

  /** A terminal shows text: a byte that is not UTF-8 as U+FFFD, as `line` writes it. */
  exactLine(text: string): void {
    this.queue.line(text);
  }

  hold(copy: Copy): Promise<void> {
    return this.queue.hold(copy);
  }

  private addLine(text: string): void {
    if (!this.active) {
      this.out.write(text + '\n');
      return;
    }
    this.pending.push(text);
    if (this.pending.length >= MAX_PENDING && !this.held) this.render();
  }

  /** Draws a frame now (the timer calls this; tests and the end of the run too). */
  render(): void {
    if (!this.active || this.held) return;
    if (!this.spinner) {
      // ora is still loading: nothing is drawn yet, but lines need not wait for it
      const text = this.takePending();
      if (text) this.out.write(text);
      return;
    }
    const width = Math.max(1, this.columns - 1);
    const maxLines = Math.max(1, this.rows - 1);
    const block = this.frame()
      .slice(0, maxLines)
      .map((l, i) => truncate(l, i === 0 ? width - SPINNER_COLUMNS : width));
    this.buffer.write(this.clear() + this.takePending());
    this.spinner.text = block.join('\n');
    this.spinner.render();
    this.out.write(this.buffer.take());
  }

  /** Removes the block, prints what is waiting, shows the cursor; later lines go straight out. */
  stop(): void {
    if (!this.active) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.spinner?.stop(); // erases the block (into the buffer)
    this.out.write(this.buffer.take() + this.takePending() + SHOW_CURSOR);
    this.spinner = undefined;
    this.active = false;
    process.off('exit', this.restore);
  }

  /** The escapes that erase the drawn block, leaving the cursor where it began. */
  private clear(): string {
    this.spinner?.clear();
    return this.buffer.take();
  }

  private takePending(): string {
    if (this.pending.length === 0) return '';
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    return text;
  }
}
