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
import { placeholders, placeholderValues, type Item } from './placeholders.js';

export { hasPlaceholder } from './placeholders.js';
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

/**
 * Replaces every placeholder in `template` with its value for `item` (`index` is
 * 1-based). With `quote`, each value is shell-quoted (for command lines); without, it
 * is inserted raw (for job names and needs). A placeholder that stands for several
 * values (`{}` of a batch or of several sources) gives them separated by spaces, each
 * quoted on its own. Unknown `{…}` sequences are kept as is.
 */
export function substitute(
  template: string,
  item: Item | string,
  index: number,
  quote: boolean,
): string {
  const it = typeof item === 'string' ? { args: [item] } : item;
  let out = '';
  let last = 0;
  for (const p of placeholders(template)) {
    const values = placeholderValues(p, it, index);
    if (values === undefined) continue;
    out += template.slice(last, p.at) + values.map((v) => (quote ? shellQuote(v) : v)).join(' ');
    last = p.at + p.raw.length;
  }
  return out + template.slice(last);
}
