import { OrderedOutput, type LineSink } from './sink.js';
import { truncate } from './text.js';

const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
const ERASE_DOWN = '\u001b[J';
/** Lines written above the area are flushed at the next frame, or at once past this many. */
const MAX_PENDING = 500;

export interface TerminalLike {
  write(text: string): boolean;
  columns?: number;
  rows?: number;
}

/**
 * Owns the bottom of the terminal: a block of lines redrawn in place at most
 * every `intervalMs`, with everything else printed above it. Each frame is one
 * write: move up over the old block, erase to the end of the screen, print the
 * waiting lines, print the new block. Lines of the block are cut to the width so
 * they never wrap (a wrapped line would throw the "move up N" count off), and the
 * block never gets taller than the screen. The timer is unref'd: it never keeps
 * the process alive. The cursor is hidden while the block is shown and restored
 * by `stop()`, and by a process 'exit' listener should `stop()` never come.
 */
export class LiveRenderer implements LineSink {
  private drawn = 0;
  private pending: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private active = false;
  private readonly queue: OrderedOutput;
  private readonly restore = () => {
    this.out.write(SHOW_CURSOR);
  };

  constructor(
    private readonly out: TerminalLike & NodeJS.WritableStream,
    private readonly frame: () => string[],
    private readonly intervalMs = 100,
  ) {
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
    this.timer = setInterval(() => this.render(), this.intervalMs);
    this.timer.unref();
  }

  line(text: string): void {
    this.queue.line(text);
  }

  hold(copy: (out: NodeJS.WritableStream) => Promise<void>): Promise<void> {
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
    const width = Math.max(1, this.columns - 1);
    const maxLines = Math.max(1, this.rows - 1);
    const block = this.frame()
      .slice(0, maxLines)
      .map((l) => truncate(l, width));
    const text = this.clear() + this.takePending() + block.map((l) => l + '\n').join('');
    this.drawn = block.length;
    if (text) this.out.write(text);
  }

  /** Removes the block, prints what is waiting, shows the cursor; later lines go straight out. */
  stop(): void {
    if (!this.active) return;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.out.write(this.clear() + this.takePending() + SHOW_CURSOR);
    this.active = false;
    process.off('exit', this.restore);
  }

  private clear(): string {
    const n = this.drawn;
    this.drawn = 0;
    return n === 0 ? '' : `\u001b[${n}A\r${ERASE_DOWN}`;
  }

  private takePending(): string {
    if (this.pending.length === 0) return '';
    const text = this.pending.join('\n') + '\n';
    this.pending = [];
    return text;
  }
}
