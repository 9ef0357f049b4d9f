/**
 * A hint for the YAML error people meet first with jobrun: a placeholder at the start of
 * a value (`name: {stem}-x`, `needs: [count-{stem}]`, `run: {} --x`), where YAML reads
 * `{` as the start of a mapping. The hint shows the line with the value quoted.
 */

/** The key (or `- `) that starts a line, and the value after it. */
const LINE = /^(\s*(?:-\s+)?(?:[^\s:#'"{[][^:#]*:\s+)?)(.*?)\s*$/;

/**
 * `source`'s line at `offset` with its value quoted, when the value starts with `{` or is
 * a `[…]` list with a `{` in it; else undefined.
 */
export function quoteBraceHint(source: string, offset: number): string | undefined {
  const start = source.lastIndexOf('\n', Math.max(offset - 1, 0)) + 1;
  const end = source.indexOf('\n', offset);
  const line = source.slice(start, end === -1 ? undefined : end);
  const m = LINE.exec(line);
  if (!m) return undefined;
  const [, lead = '', value = ''] = m;
  let fixed: string;
  let what = 'a value that starts with {';
  const inner = /^\{\s*[\w-]+\s*:\s+(.*)\}$/.exec(value)?.[1];
  if (inner !== undefined && inner.includes('{')) {
    // a flow mapping meant as one (`for_each: { from: s-{item} }`): its values are quoted
    fixed = `{ ${value
      .slice(1, -1)
      .split(',')
      .map((entry) => {
        const [key = '', ...rest] = entry.split(':');
        const v = rest.join(':').trim();
        return `${key.trim()}: ${v.includes('{') && !/^["']/.test(v) ? quote(v) : v}`;
      })
      .join(', ')} }`;
    what = 'a value with { in it';
  } else if (value.startsWith('{')) fixed = quote(value);
  else if (value.startsWith('[') && value.includes('{') && value.endsWith(']')) {
    fixed = `[${value
      .slice(1, -1)
      .split(',')
      .map((item) => item.trim())
      .map((item) => (/^["']/.test(item) ? item : quote(item)))
      .join(', ')}]`;
    what = 'a list item with { in it';
  } else return undefined;
  return `${what} must be quoted (YAML reads { as a mapping); write: ${lead.trim()} ${fixed}`.replace(
    /: {2}/,
    ': ',
  );
}

/** Double quotes (JSON's escapes are YAML's), or single ones when the value has `"` only. */
function quote(value: string): string {
  return value.includes('"') && !value.includes("'") ? `'${value}'` : JSON.stringify(value);
}
