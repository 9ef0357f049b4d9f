/**
 * Placeholders and shell quoting, shared by manifest expansion and ad-hoc jobs.
 *
 * Placeholders (GNU parallel's spellings in brackets):
 * `{file}` (`{}`) the item; `{dir}` (`{//}`) its dirname; `{base}` (`{/}`) its basename;
 * `{stem}` (`{/.}`) basename without extension; `{noext}` (`{.}`) item without extension;
 * `{ext}` the extension without its dot; `{item}` the item; `{index}` (`{#}`) the
 * 1-based position among the job's items; `{1}`…`{n}` (and `{1.}` `{1/}` `{1//}` `{1/.}`)
 * the n-th input source or column; `{name}` a named column. Any other `{…}` is left
 * untouched, so shell brace expansions such as `{a,b}` and `${VAR}` survive. What each
 * stands for is in `placeholders.ts`.
 */
import {
  parseKey,
  placeholderPattern,
  placeholders,
  placeholderValues,
  type Item,
} from './placeholders.js';
import { hasRawBytes } from '../model/bytes.js';
import { scanTemplate, TemplateProblem, type Piece, type Slot } from './shell-scan.js';

export { TemplateProblem } from './shell-scan.js';
export { hasPlaceholder } from './placeholders.js';

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
 * `shellQuote` for a value that may carry raw bytes (`decodeBytes`: an argument that is
 * not UTF-8). A quote cannot hold those bytes as text that is shown or copied, so such a
 * value is written as bash, zsh and ksh take it back: `$'…'` with each raw byte as `\xNN`.
 */
export function shellQuoteBytes(value: string): string {
  if (!hasRawBytes(value)) return shellQuote(value);
  // a lone low surrogate is a raw byte; one after a high surrogate is half a character
  const escaped = value.replace(/[\\']|(?<![\uD800-\uDBFF])[\uDC80-\uDCFF]/g, (c) =>
    c >= '\uDC80' ? `\\x${(c.charCodeAt(0) - 0xdc00).toString(16)}` : `\\${c}`,
  );
  return `$'${escaped}'`;
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
 * `names` are the column names `{name}` may use (`--header`, `--csv`, `matrix`). A
 * placeholder that stands for several values (`{}` of a batch or of several sources)
 * gives each quoted for its context, separated by spaces.
 */
export function compileCommand(
  template: string,
  names: readonly string[] = [],
): (item: Item | string, index: number) => string {
  return filler(scanTemplate(template, placeholderPattern(names)));
}

/**
 * Like `compileCommand` for a template without placeholders: the item (every arg of
 * it) is appended as the last argument(s). Refused when the template ends where an
 * argument cannot go (inside a comment, a here-document or an open quote).
 */
export function compileAppending(template: string): (item: Item | string, index: number) => string {
  const pieces = scanTemplate(`${template} {}`, placeholderPattern());
  if (typeof pieces.at(-1) !== 'object') {
    throw new TemplateProblem('{}', 'appended after a comment', template.length + 1);
  }
  return filler(pieces);
}

function asItem(item: Item | string): Item {
  return typeof item === 'string' ? { args: [item] } : item;
}

/** Fills a scanned template for one item; each placeholder's key is read once, here. */
function filler(pieces: readonly Piece[]): (item: Item | string, index: number) => string {
  const keys = pieces.map((piece) => (typeof piece === 'string' ? undefined : parseKey(piece.key)));
  return (item, index) => {
    const it = asItem(item);
    let out = '';
    pieces.forEach((piece, i) => {
      if (typeof piece === 'string') {
        out += piece;
        return;
      }
      const values = placeholderValues(keys[i]!, it, index);
      out +=
        values === undefined ? `{${piece.key}}` : values.map((v) => quoteFor(piece, v)).join(' ');
    });
    return out;
  };
}

/**
 * Replaces every placeholder in `template` with its value for `item` (`index` is
 * 1-based). With `quote`, the template is a command line and each value is quoted for
 * its shell context (`compileCommand`; may throw `TemplateProblem`); without, values
 * are inserted raw (for job names and needs), or as `escape` makes them, several
 * separated by spaces. Unknown `{…}` sequences are kept as is.
 */
export function substitute(
  template: string,
  item: Item | string,
  index: number,
  quote: boolean,
  escape: (value: string) => string = (value) => value,
): string {
  const it = asItem(item);
  if (quote) return compileCommand(template, Object.keys(it.named ?? {}))(it, index);
  let out = '';
  let last = 0;
  for (const p of placeholders(template)) {
    const values = placeholderValues(p, it, index);
    if (values === undefined) continue;
    out += template.slice(last, p.at) + values.map(escape).join(' ');
    last = p.at + p.raw.length;
  }
  return out + template.slice(last);
}

/**
 * A glob template (`outputs`, `inputs`, `--cache-output`) filled in for `item`: the
 * template's own glob characters stay globs, but a value is a name, so its glob
 * characters are escaped (`out/{base}.n` for the file `a?` is `out/a\?.n`, which
 * matches that file and not `out/a1.n`). The cache reads a glob whose only glob
 * characters are escaped ones as a plain path (`cache/globs.ts`).
 */
export function substituteGlob(template: string, item: Item | string, index: number): string {
  return substitute(template, item, index, false, escapeGlob);
}

/**
 * Backslashes the characters fast-glob reads as syntax: wildcards, classes, braces,
 * groups, a leading `!` and the backslash itself (POSIX names: `\` is no separator).
 * `+` and `@` only mean something before a `(`, which is escaped.
 */
export function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]{}()|!]/g, '\\$&');
}
