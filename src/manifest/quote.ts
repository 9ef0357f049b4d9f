/**
 * Placeholders and shell quoting, shared by manifest expansion and ad-hoc jobs.
 *
 * Placeholders (GNU parallel's spellings in brackets):
 * `{file}` (`{}`) the item; `{dir}` (`{//}`) its dirname; `{base}` (`{/}`) its basename;
 * `{stem}` (`{/.}`) basename without extension; `{noext}` (`{.}`) item without extension;
 * `{ext}` the extension without its dot; `{item}` the item; `{index}` (`{#}`) the
 * 1-based position among the job's items. Any other `{…}` is left untouched, so shell
 * brace expansions such as `{a,b}` and `${VAR}` survive.
 */
import path from 'node:path';
import { scanTemplate, TemplateProblem, type Piece, type Slot } from './shell-scan.js';

export { TemplateProblem } from './shell-scan.js';

const PLACEHOLDER = /\{(file|dir|base|stem|noext|ext|item|index|\/\/|\/\.|\/|\.|#|)\}/g;
/**
 * Values that mean nothing to the shell in any word: no `=` (an assignment in command
 * position), no `,` or braces (bash brace expansion), no `~`, globs or quotes.
 */
const SAFE = /^[A-Za-z0-9_./@%+:-]+$/;
/** Words the shell reads as syntax when they stand alone in command position. */
const RESERVED = new Set(
  'if then else elif fi do done case esac while until for in select function time'.split(' '),
);

/**
 * Quotes `value` so that `/bin/sh` reads it back as exactly one word, unchanged.
 * Values made only of safe characters (`[A-Za-z0-9_./:@%+-]`, non-empty) stay bare;
 * everything else is wrapped in single quotes with `'` written as `'\''`.
 */
export function shellQuote(value: string): string {
  if (SAFE.test(value) && !RESERVED.has(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * A value written for the shell context its placeholder sits in, so that it becomes
 * exactly one unchanged piece of the word there: bare, it is quoted (or left bare when
 * neither it nor its word holds anything the shell would read); inside `'…'` the quote
 * is closed, the quoted value written and the quote reopened; inside `"…"` likewise.
 */
function quoteFor(slot: Slot, value: string): string {
  const safe = SAFE.test(value);
  switch (slot.context) {
    case 'single':
      return safe ? value : `'${shellQuote(value)}'`;
    case 'double':
      return safe ? value : `"${shellQuote(value)}"`;
    case 'bare':
      if (safe && slot.plainWord && !(slot.wholeWord && RESERVED.has(value))) return value;
      return `'${value.replace(/'/g, `'\\''`)}'`;
  }
}

/**
 * Reads a command template once (see `shell-scan.ts`) and returns the function that
 * fills it for one item. Throws a `TemplateProblem` when a placeholder sits where no
 * quoting can keep its value intact; callers turn that into a manifest or usage error.
 */
export function compileCommand(template: string): (item: string, index: number) => string {
  const pieces = scanTemplate(template, PLACEHOLDER);
  return (item, index) => render(pieces, placeholderValues(item, index));
}

/**
 * Like `compileCommand` for a template without placeholders: the item is appended as
 * the last argument. Refused when the template ends where an argument cannot go
 * (inside a comment, a here-document or an open quote).
 */
export function compileAppending(template: string): (item: string, index: number) => string {
  const pieces = scanTemplate(`${template} {}`, PLACEHOLDER);
  if (typeof pieces.at(-1) !== 'object') {
    throw new TemplateProblem('{}', 'appended after a comment', template.length + 1);
  }
  return (item, index) => render(pieces, placeholderValues(item, index));
}

function render(pieces: readonly Piece[], values: Record<string, string>): string {
  let out = '';
  for (const piece of pieces) {
    out += typeof piece === 'string' ? piece : quoteFor(piece, values[piece.key] ?? '');
  }
  return out;
}

/** True when `template` contains at least one known placeholder. */
export function hasPlaceholder(template: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  return PLACEHOLDER.test(template);
}

/** The value of each placeholder for one item. */
export function placeholderValues(item: string, index: number): Record<string, string> {
  const ext = path.posix.extname(item);
  const base = path.posix.basename(item);
  const values = {
    file: item,
    item,
    dir: path.posix.dirname(item),
    base,
    stem: ext ? base.slice(0, -ext.length) : base,
    noext: ext ? item.slice(0, -ext.length) : item,
    ext: ext.slice(1),
    index: String(index),
  };
  return {
    ...values,
    '': values.file,
    '//': values.dir,
    '/': values.base,
    '/.': values.stem,
    '.': values.noext,
    '#': values.index,
  };
}

/**
 * Replaces every placeholder in `template` with its value for `item` (`index` is
 * 1-based). With `quote`, the template is a command line and each value is quoted for
 * its shell context (`compileCommand`; may throw `TemplateProblem`); without, values
 * are inserted raw (for job names and needs). Unknown `{…}` sequences are kept as is.
 */
export function substitute(template: string, item: string, index: number, quote: boolean): string {
  if (quote) return compileCommand(template)(item, index);
  const values = placeholderValues(item, index);
  return template.replace(PLACEHOLDER, (_m, key: string) => values[key] ?? '');
}
