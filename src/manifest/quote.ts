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

const PLACEHOLDER = /\{(file|dir|base|stem|noext|ext|item|index|\/\/|\/\.|\/|\.|#|)\}/g;
const SAFE = /^[A-Za-z0-9_./:=@%+,-]+$/;

/**
 * Quotes `value` so that `/bin/sh` reads it back as exactly one word, unchanged.
 * Values made only of safe characters (`[A-Za-z0-9_./:=@%+,-]`, non-empty) stay bare;
 * everything else is wrapped in single quotes with `'` written as `'\''`.
 */
export function shellQuote(value: string): string {
  if (SAFE.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
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
 * 1-based). With `quote`, each value is shell-quoted (for command lines); without, it
 * is inserted raw (for job names and needs). Unknown `{…}` sequences are kept as is.
 */
export function substitute(template: string, item: string, index: number, quote: boolean): string {
  const values = placeholderValues(item, index);
  return template.replace(PLACEHOLDER, (_m, key: string) => {
    const value = values[key] ?? '';
    return quote ? shellQuote(value) : value;
  });
}
