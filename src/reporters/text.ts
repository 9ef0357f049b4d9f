import sliceAnsi from 'slice-ansi';
import stringWidth from 'string-width';

/**
 * Terminal text helpers for the live view: how many columns a string takes, and
 * cutting a (possibly coloured) line to fit so it never wraps. Widths come from
 * `string-width` (Unicode's East Asian Width and emoji data), not a hand table.
 */

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

/**
 * Visible width of a line in terminal columns, as `string-width` counts it: colour
 * sequences take none, emoji (🚀 ✅ ⌛ ☕), ZWJ and skin-tone sequences and East Asian
 * wide characters take two.
 */
export function visibleWidth(text: string): number {
  return stringWidth(text);
}

/**
 * Cuts a line to at most `columns` visible columns, ending with `…` when cut.
 * `slice-ansi` keeps colour sequences and closes the ones it cut through; a reset is
 * appended too so no colour bleeds into the next line. A wide character that would
 * straddle the edge is dropped whole.
 */
export function truncate(text: string, columns: number): string {
  if (columns <= 0) return '';
  if (stringWidth(text) <= columns) return text;
  let end = columns - 1;
  let cut = sliceAnsi(text, 0, end);
  while (end > 0 && stringWidth(cut) > columns - 1) cut = sliceAnsi(text, 0, --end);
  return cut + '…' + (text.includes('\u001b') ? '\u001b[0m' : '');
}

/**
 * Breaks a line at spaces so each piece takes at most `columns` (a word longer than
 * that is cut): for a line that must fit the terminal and lose nothing, like the summary.
 */
export function wrapLine(text: string, columns: number): string {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(' ')) {
    const next = current === '' ? word : `${current} ${word}`;
    if (current !== '' && stringWidth(next) > columns) {
      lines.push(current);
      current = word;
    } else current = next;
  }
  lines.push(current);
  return lines.map((l) => truncate(l, columns)).join('\n');
}
