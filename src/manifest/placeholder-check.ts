/**
 * Placeholder names checked at `validate`: `{itme}` in a for_each job's `run`, `name`
 * or `needs` would stay literal text (braces are plain shell words) and every job would
 * run with it. Only a name one edit from a known one (`{item}`, `{stem}`, a matrix key,
 * a CSV column) is an error: other braces are often meant as they are, as in
 * `jq '{name}'` or `awk '{print}'`. GNU parallel's `{%}` and `{##}`, which jobrun does
 * not have, are errors too, saying what to use instead.
 */
import { PLACEHOLDER_NAMES, placeholders } from './placeholders.js';
import { nearest } from './suggest.js';

/** `{%}` and `{##}`, not bash's `${##}` (the length of `$#`). */
const PARALLEL_ONLY = /(?<!\$)\{(%|##)\}/g;

const INSTEAD: Record<string, string> = {
  '%': `GNU parallel's job slot; each job gets it in its environment: "$JOBRUN_SLOT"`,
  '##': "GNU parallel's number of jobs; jobrun has none, as streamed input has no total",
};

/** One message per GNU parallel placeholder jobrun does not have, e.g. `{%}`. */
export function parallelOnlyPlaceholders(template: string): string[] {
  return [...template.matchAll(PARALLEL_ONLY)].map(
    ([raw, key]) => `unknown placeholder ${raw} (${INSTEAD[key!]})`,
  );
}

/** One message per near-miss placeholder in `template`, e.g. `{itme}; did you mean {item}?`. */
export function misspeltPlaceholders(template: string, columns: readonly string[]): string[] {
  const known = [...PLACEHOLDER_NAMES, ...columns];
  const out = parallelOnlyPlaceholders(template);
  for (const p of placeholders(template)) {
    if (p.name === undefined || known.includes(p.name)) continue;
    const hint = nearest(p.name, known, 1);
    if (hint !== undefined) out.push(`unknown placeholder ${p.raw}; did you mean {${hint}}?`);
  }
  return out;
}
