import { Writable } from 'node:stream';

/**
 * The terminal as ora sees it during one frame: a TTY-shaped stream whose writes and
 * cursor moves collect in memory, so the live renderer sends a whole frame (erase, lines
 * printed above, the new block) to the real terminal in one write, as before ora drew it.
 * Width and height are the real terminal's.
 */
export class FrameBuffer extends Writable {
  readonly isTTY = true;
  private text = '';

  constructor(private readonly size: () => { columns: number; rows: number }) {
    super();
  }

  get columns(): number {
    return this.size().columns;
  }

  get rows(): number {
    return this.size().rows;
  }

  override write(chunk: unknown): boolean {
    this.text += String(chunk);
    return true;
  }

  cursorTo(x: number): boolean {
    this.text += `\u001b[${x + 1}G`;
    return true;
  }

  moveCursor(dx: number, dy: number): boolean {
    if (dx) this.text += `\u001b[${Math.abs(dx)}${dx < 0 ? 'D' : 'C'}`;
    if (dy) this.text += `\u001b[${Math.abs(dy)}${dy < 0 ? 'A' : 'B'}`;
    return true;
  }

  /** `dir` 1: to the end of the line (what ora uses), -1: to its start, 0: the whole line. */
  clearLine(dir: number): boolean {
    this.text += `\u001b[${dir > 0 ? 0 : dir < 0 ? 1 : 2}K`;
    return true;
  }

  /** What the frame wrote, emptying the buffer. */
  take(): string {
    const text = this.text;
    this.text = '';
    return text;
  }
}
