/**
 * Terminal text helpers for the live view: how many columns a string takes, and
 * cutting a (possibly coloured) line to fit so it never wraps. Wrapping would
 * break the live area's "erase N lines" arithmetic.
 */

// SGR colour sequences we write ourselves; anything else that reached a line is cleaned first.
// eslint-disable-next-line no-control-regex
const SGR = /\u001b\[[0-9;]*m/y;

/**
 * Control characters a job name could smuggle into a terminal line (C0, DEL, C1 such as
 * the one-character CSI U+009B), and bidirectional overrides that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** User text (job names, output) made safe for one terminal line: controls become `?`. */
export function clean(text: string): string {
  return text.replace(CONTROL, '?');
}

// Escapes other than colours, and controls (C0, DEL, C1) other than tab and newline.
const UNSAFE_OUTPUT =
  // eslint-disable-next-line no-control-regex
  /\u001b(?!\[[0-9;]*m)|[\u0000-\u0008\u000b-\u001a\u001c-\u001f\u007f-\u009f]/g;

/**
 * Job output made safe to print among our own lines: colours (SGR) and newlines stay,
 * cursor movement, carriage returns and other controls become `?`, so a job's output
 * can never move the cursor into the live area.
 */
export function cleanOutput(text: string): string {
  return text.replace(UNSAFE_OUTPUT, '?');
}

/** An escape sequence that may be cut at the end of a chunk: it waits for the rest. */
// eslint-disable-next-line no-control-regex
const OPEN_ESCAPE = /\u001b(\[[0-9;]{0,30})?$/;

/**
 * `cleanOutput` for output that arrives in chunks (a log file copied to a terminal):
 * a colour sequence cut between two chunks is held back and cleaned whole, so it is
 * kept as a colour rather than shown as `?[31m`.
 */
export function outputCleaner(): { push(chunk: string): string; end(): string } {
  let held = '';
  return {
    push(chunk) {
      const text = held + chunk;
      const cut = OPEN_ESCAPE.exec(text)?.index ?? text.length;
      held = text.slice(cut);
      return cleanOutput(text.slice(0, cut));
    },
    end() {
      const rest = cleanOutput(held);
      held = '';
      return rest;
    },
  };
}

/** Columns one code point takes: 0 for combining marks, 2 for wide (CJK, emoji), else 1. */
export function charWidth(cp: number): number {
  if (
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0x20d0 && cp <= 0x20ff)
  ) {
    return 0;
  }
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Visible width of a line, ignoring SGR colour sequences. */
export function visibleWidth(text: string): number {
  let width = 0;
  for (let i = 0; i < text.length;) {
    SGR.lastIndex = i;
    const m = SGR.exec(text);
    if (m) {
      i += m[0].length;
      continue;
    }
    const cp = text.codePointAt(i)!;
    width += charWidth(cp);
    i += cp > 0xffff ? 2 : 1;
  }
  return width;
}

/**
 * Cuts a line to at most `columns` visible columns, ending with `…` when cut.
 * Colour sequences are kept (and a reset appended when cut) so colours never
 * bleed into the next line.
 */
export function truncate(text: string, columns: number): string {
  if (columns <= 0) return '';
  if (visibleWidth(text) <= columns) return text;
  let out = '';
  let width = 0;
  let coloured = false;
  for (let i = 0; i < text.length;) {
    SGR.lastIndex = i;
    const m = SGR.exec(text);
    if (m) {
      out += m[0];
      coloured = true;
      i += m[0].length;
      continue;
    }
    const cp = text.codePointAt(i)!;
    const w = charWidth(cp);
    if (width + w > columns - 1) break;
    out += String.fromCodePoint(cp);
    width += w;
    i += cp > 0xffff ? 2 : 1;
  }
  return out + '…' + (coloured ? '\u001b[0m' : '');
}
