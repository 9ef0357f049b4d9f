/**
 * Placeholder names checked at `validate`: `{itme}` in a for_each job's `run`, `name`
 * or `needs` would stay literal text (braces are plain shell words) and every job would
 * run with it. Only a name one edit from a known one (`{item}`, `{stem}`, a matrix key,
 * a CSV column) is an error: other braces are often meant as they are, as in
 * `jq '{name}'` or `awk '{print}'`.
 */
import { PLACEHOLDER_NAMES, placeholders } from './placeholders.js';
import { nearest } from './suggest.js';

/** One message per near-miss placeholder in `template`, e.g. `{itme}; did you mean {item}?`. */
export function misspeltPlaceholders(template: string, columns: readonly string[]): string[] {
  const known = [...PLACEHOLDER_NAMES, ...columns];
  const out: string[] = [];
  for (const p of placeholders(template)) {
    if (p.name === undefined || known.includes(p.name)) continue;
    const hint = nearest(p.name, known, 1);
    if (hint !== undefined) out.push(`unknown placeholder ${p.raw}; did you mean {${hint}}?`);
  }
  return out;
}
