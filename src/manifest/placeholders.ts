/**
 * What each placeholder stands for, GNU parallel's way.
 *
 * A job's input is an `Item`: its positional values (`args`: one per input source or
 * column, or every item of a batch) and, with `--header`/`--csv`/`matrix`, the same
 * values by name. `{}` and its forms stand for every arg; `{n}` and its forms for the
 * n-th (empty when there is none, as in parallel); `{name}` for a named column.
 *
 * The path forms follow parallel byte for byte, also on edge cases (checked against
 * parallel itself by `test/oracle/parallel.sh`):
 * - `{.}` drops the last `.` after the last `/` and what follows: `.bashrc` → ``,
 *   `dir/.bashrc` → `dir/`, `..` → `.`, `x.y/` → `x.y/`;
 * - `{/}` is what follows the last `/` (`a/b/` → ``); `{//}` is dirname (`a//b//c.txt`
 *   → `a//b`, `a/b/` → `a`, `x` → `.`); `{/.}` is `{.}` of `{/}`.
 * jobrun's own names differ on purpose where parallel's result surprises: `{stem}`,
 * `{noext}` and `{ext}` treat a leading dot as part of the name, not an extension
 * (`{stem}` of `.bashrc` is `.bashrc`, its `{ext}` empty). `{file}`/`{item}`, `{dir}`
 * and `{base}` are the same as `{}`, `{//}` and `{/}`.
 */

/** One job's input values. */
export interface Item {
  /** Positional values: `{1}` is `args[0]`. `{}` stands for all of them. */
  args: string[];
  /** Values by column name (`--header`, `--csv`, `matrix`), for `{name}`. */
  named?: Record<string, string>;
}

/** A placeholder: `{}` `{.}` `{3/.}` `{#}` `{name}`; groups: position, form, `#`, name. */
const PLACEHOLDER = /\{(?:(\d*)(\/\/|\/\.|\/|\.|)|(#)|([A-Za-z_][\w.-]*))\}/g;

/** Matches text that holds a placeholder: a template, not a value. */
export const PLACEHOLDER_IN = new RegExp(PLACEHOLDER.source);

/** True when `text` holds a placeholder (a template, not a value). */
export function isTemplate(text: string): boolean {
  return PLACEHOLDER_IN.test(text);
}

/** One placeholder found in a template. */
export interface Placeholder {
  /** The text matched, e.g. `{2/.}`. */
  raw: string;
  /** Offset of `raw` in the template. */
  at: number;
  /** `{n…}`: n; `{…}` without a position: 0. */
  position: number;
  /** `''`, `.`, `/`, `//` or `/.` (positional forms only). */
  form: string;
  /** `{#}` */
  index: boolean;
  /** `{name}`: a column or one of jobrun's names. */
  name?: string;
}

/** The parallel forms, each a function of one value. */
const FORMS: Record<string, (value: string) => string> = {
  '': (v) => v,
  '.': noExtension,
  '/': baseName,
  '//': dirName,
  '/.': (v) => noExtension(baseName(v)),
};
/** jobrun's names for forms of every arg. */
const NAMED: Record<string, (value: string) => string> = {
  file: (v) => v,
  item: (v) => v,
  dir: dirName,
  base: baseName,
  stem: (v) => stem(baseName(v)),
  noext: (v) => v.slice(0, v.length - baseName(v).length) + stem(baseName(v)),
  ext: (v) => {
    const base = baseName(v);
    return base.slice(stem(base).length + 1);
  },
};

/** jobrun's placeholder names, which every item has: `{file}`, `{stem}`, `{index}`, … */
export const PLACEHOLDER_NAMES: readonly string[] = [...Object.keys(NAMED), 'index'];

/**
 * The placeholders a command template knows, for `shell-scan.ts` (group 1 is the key):
 * the positional forms, `{#}`, jobrun's names and the given column `names`. Other
 * braces are plain text to the scanner, so `{foo}` in backticks is not refused.
 */
export function placeholderPattern(names: readonly string[] = []): RegExp {
  const keys = [...Object.keys(NAMED), 'index', ...names]
    .map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('|');
  return new RegExp(`\\{(\\d*(?:\\/\\/|\\/\\.|\\/|\\.)?|#|${keys})\\}`, 'g');
}

/** The placeholder a key (the text between the braces) stands for. */
export function parseKey(key: string): Placeholder {
  const [p] = [...placeholders(`{${key}}`)];
  return p ?? { raw: `{${key}}`, at: 0, position: 0, form: '', index: false, name: key };
}

/** Each placeholder in `template`, in order. */
export function* placeholders(template: string): Generator<Placeholder> {
  const re = new RegExp(PLACEHOLDER);
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    yield {
      raw: m[0],
      at: m.index,
      position: m[1] ? Number(m[1]) : 0,
      form: m[2] ?? '',
      index: m[3] !== undefined,
      ...(m[4] === undefined ? {} : { name: m[4] }),
    };
  }
}

/**
 * The values placeholder `p` stands for in `item` (`index` is the job's 1-based
 * position), or `undefined` when the braces are not a placeholder here (so `${HOME}`,
 * `{a,b}` and `{0}` are left alone). `{}` and jobrun's names give one value per arg;
 * a named column wins over jobrun's name of the same spelling.
 */
export function placeholderValues(p: Placeholder, item: Item, index: number): string[] | undefined {
  if (p.index) return [String(index)];
  if (p.name !== undefined) {
    const column = item.named?.[p.name];
    if (column !== undefined) return [column];
    if (p.name === 'index') return [String(index)];
    const fn = NAMED[p.name];
    return fn === undefined ? undefined : item.args.map(fn);
  }
  const fn = FORMS[p.form]!;
  if (p.raw.startsWith('{0')) return undefined;
  if (p.position === 0) return item.args.map(fn);
  return [fn(item.args[p.position - 1] ?? '')];
}

/** True when `template` has a placeholder that `item`'s kind of input fills. */
export function hasPlaceholder(template: string, named?: Record<string, string>): boolean {
  for (const p of placeholders(template)) {
    if (placeholderValues(p, { args: [''], named }, 1) !== undefined) return true;
  }
  return false;
}

/** parallel's `{.}`: without the last `.` that comes after the last `/`. */
function noExtension(v: string): string {
  const dot = v.lastIndexOf('.');
  return dot > v.lastIndexOf('/') ? v.slice(0, dot) : v;
}

/** parallel's `{/}`: what follows the last `/`. */
function baseName(v: string): string {
  return v.slice(v.lastIndexOf('/') + 1);
}

/** parallel's `{//}`, which is `dirname(1)`: `a//b//c` → `a//b`, `a/b/` → `a`, `x` → `.`. */
function dirName(v: string): string {
  let end = v.length;
  while (end > 1 && v[end - 1] === '/') end--; // trailing slashes
  const slash = v.lastIndexOf('/', end - 1);
  if (slash === -1) return '.';
  let cut = slash;
  while (cut > 0 && v[cut - 1] === '/') cut--; // the slashes before the last part
  return cut === 0 ? '/' : v.slice(0, cut);
}

/** A base name without its extension; a leading dot starts the name, not an extension. */
function stem(base: string): string {
  const dot = base.lastIndexOf('.');
  return dot > 0 && base !== '..' ? base.slice(0, dot) : base;
}
