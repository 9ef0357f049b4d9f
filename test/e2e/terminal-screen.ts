import stringWidth from 'string-width';

/**
 * A tiny terminal emulator for the escape sequences jobrun's live view writes
 * (CR, LF, cursor up, column, erase down/line, SGR colours, cursor show/hide),
 * with wide characters (emoji, CJK) taking two cells and long lines wrapping. It turns a
 * captured pty byte stream into the screen a person saw, for screenshots and for
 * asserting that the final screen holds no leftover live block.
 */
export interface Cell {
  ch: string;
  style: string;
}

const COLORS: Record<number, string> = {
  31: '#ff6b6b',
  32: '#5fd35f',
  33: '#f2c94c',
  34: '#6aa6ff',
  35: '#d291e4',
  36: '#56c8d8',
  90: '#8b949e',
};

export class Screen {
  lines: Cell[][] = [[]];
  row = 0;
  col = 0;
  /**
   * Lines the terminal had to wrap inside synchronized output (`ESC[?2026h` … `l`),
   * which is where the live view draws its block: a wrap there breaks the redraw.
   */
  frameWraps = 0;
  private sync = false;
  private color = '';
  private bold = false;

  constructor(readonly cols: number) {}

  write(text: string): this {
    for (let i = 0; i < text.length;) {
      const c = String.fromCodePoint(text.codePointAt(i)!);
      if (c === '\u001b' && text[i + 1] === '[') {
        // eslint-disable-next-line no-control-regex
        const m = /^\u001b\[([0-9;?]*)([A-Za-z])/.exec(text.slice(i, i + 16));
        if (m) {
          this.csi(m[1]!, m[2]!);
          i += m[0].length;
          continue;
        }
      }
      i += c.length;
      if (c === '\r') this.col = 0;
      else if (c === '\n') {
        this.col = 0; // a terminal's output processing (onlcr) turns LF into CR LF
        this.down();
      } else this.put(c);
    }
    return this;
  }

  /** A character takes as many cells as string-width says (a terminal's wcwidth). */
  private put(c: string): void {
    const w = stringWidth(c);
    const line = () => this.lines[this.row]!;
    if (w === 0) {
      const prev = line()[this.col - 1];
      if (prev) prev.ch += c; // a combining mark, ZWJ or variation selector
      return;
    }
    if (this.col + w > this.cols) {
      if (this.sync) this.frameWraps++;
      this.col = 0;
      this.down();
    }
    while (line().length < this.col) line().push({ ch: ' ', style: '' });
    line()[this.col++] = { ch: c, style: this.style() };
    if (w === 2) line()[this.col++] = { ch: '', style: '' };
  }

  private down(): void {
    this.row++;
    while (this.lines.length <= this.row) this.lines.push([]);
  }

  /** The last `rows` lines of text, as the terminal shows them. */
  text(rows = Infinity): string[] {
    const end = Math.max(this.row + 1, 0);
    return this.lines.slice(Math.max(0, end - rows), end).map((l) =>
      l
        .map((c) => c.ch)
        .join('')
        .trimEnd(),
    );
  }

  /** The last `rows` lines as HTML spans (text escaped). */
  html(rows: number): string {
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const end = this.row + 1;
    return this.lines
      .slice(Math.max(0, end - rows), end)
      .map((line) =>
        line
          .map((c) => (c.style ? `<span style="${c.style}">${esc(c.ch)}</span>` : esc(c.ch)))
          .join(''),
      )
      .join('\n');
  }

  private style(): string {
    return [this.color && `color:${this.color}`, this.bold && 'font-weight:bold']
      .filter(Boolean)
      .join(';');
  }

  private csi(params: string, cmd: string): void {
    const n = Number(params || 1);
    if (params === '?2026' && (cmd === 'h' || cmd === 'l')) this.sync = cmd === 'h';
    else if (cmd === 'A') this.row = Math.max(0, this.row - n);
    else if (cmd === 'G') this.col = Math.max(0, n - 1);
    else if (cmd === 'J') {
      this.lines[this.row] = (this.lines[this.row] ?? []).slice(0, this.col);
      this.lines.length = this.row + 1;
    } else if (cmd === 'K') this.lines[this.row] = (this.lines[this.row] ?? []).slice(0, this.col);
    else if (cmd === 'm') {
      for (const p of (params || '0').split(';').map(Number)) {
        if (p === 0) {
          this.color = '';
          this.bold = false;
        } else if (p === 1) this.bold = true;
        else if (p === 22) this.bold = false;
        else if (p === 39) this.color = '';
        else if (COLORS[p]) this.color = COLORS[p]!;
      }
    }
  }
}
