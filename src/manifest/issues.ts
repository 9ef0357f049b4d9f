/**
 * Turns zod issues into positioned, readable manifest issues: one issue per unknown key
 * (pointing at the key, with a "did you mean"), the most specific branch of a failed
 * union, and messages that say what was expected and what was found.
 */
import type { z } from 'zod';
import type { DocPath, IssueList } from './locate.js';
import { validKeysAt } from './schema-keys.js';
import { didYouMean } from './suggest.js';

/** `jobs[2].backoff.delay` */
function pathLabel(path: DocPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(String(seg))) out += `${out ? '.' : ''}${String(seg)}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

/** How a value found in the manifest is named in messages. */
function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string')
    return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

/** Keys other tools use for what jobrun calls otherwise (GitHub Actions, compose, Makefiles). */
const ALIASES: Record<string, string> = {
  command: 'run',
  cmd: 'run',
  script: 'run',
  exec: 'run',
  shell_command: 'run',
  depends_on: 'needs',
  dependencies: 'needs',
  'depends-on': 'needs',
  'timeout-minutes': 'timeout',
  'working-directory': 'cwd',
  working_dir: 'cwd',
  environment: 'env',
  matrix: 'for_each',
  'continue-on-error': 'allow_failure',
};

/** `; did you mean "run"?` for `command:` where `run` is a valid key there. */
function aliasHint(key: string, valid: string[]): string | undefined {
  const alias = ALIASES[key];
  return alias !== undefined && valid.includes(alias)
    ? `; did you mean ${JSON.stringify(alias)}?`
    : undefined;
}

/** The message of a missing required key, replaced by `missing required key "…"`. */
const REQUIRED = 'is required';

const EXPECTED: Record<string, string> = {
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

/**
 * The error map passed to `safeParse`: default wording for issues the schema gives no
 * message of its own. It sees the offending input, so it can say what was found.
 */
export const errorMap: z.core.$ZodErrorMap = (iss) => {
  if (iss.input === undefined && (iss.code === 'invalid_type' || iss.code === 'invalid_value'))
    return REQUIRED;
  switch (iss.code) {
    case 'invalid_type':
      return `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'string' || iss.origin === 'array') return 'must not be empty';
      return `must be ${iss.inclusive ? 'at least' : 'greater than'} ${String(iss.minimum)}`;
    case 'too_big':
      return `must be ${iss.inclusive ? 'at most' : 'less than'} ${String(iss.maximum)}`;
    case 'invalid_value':
      return `expected ${iss.values.map((v) => JSON.stringify(v)).join(' or ')}, got ${describeValue(iss.input)}`;
    default:
      return undefined;
  }
};

/** Adds every zod issue to `list`, positioned at the node it concerns. */
export function addZodIssues(error: z.ZodError, list: IssueList): void {
  // `command:` where `run:` was meant: the "did you mean" says it; "missing run" would repeat it
  const meant = new Set<string>();
  for (const iss of error.issues) {
    if (iss.code !== 'unrecognized_keys') continue;
    for (const key of iss.keys) {
      const alias = ALIASES[key];
      if (alias !== undefined) meant.add(pathLabel([...iss.path, alias]));
    }
  }
  for (const iss of error.issues) {
    if (iss.message === REQUIRED && meant.has(pathLabel(iss.path))) continue;
    addIssue(iss, [], list);
  }
}

function addIssue(iss: z.core.$ZodIssue, prefix: DocPath, list: IssueList): void {
  const path = [...prefix, ...iss.path];
  const label = pathLabel(path);
  switch (iss.code) {
    case 'unrecognized_keys': {
      const valid = validKeysAt(path);
      for (const key of iss.keys) {
        list.add(
          [...path, key],
          `unknown key ${JSON.stringify(key)}${aliasHint(key, valid) ?? didYouMean(key, valid)}`,
          true,
        );
      }
      return;
    }
    case 'invalid_union': {
      // Report inside the one branch whose type matched (e.g. a list with a bad item),
      // rather than "matched no alternative".
      const specific = iss.errors.filter((branch) => branch.length > 0 && !wrongType(branch));
      const only = specific.length === 1 ? specific[0] : undefined;
      if (only) {
        for (const inner of only) addIssue(inner, path, list);
        return;
      }
      break;
    }
    case 'invalid_key': {
      const inner = iss.issues[0]?.message ?? iss.message;
      list.add(path, `${label}: ${inner}`, true);
      return;
    }
    case 'invalid_type':
    case 'invalid_value':
      if (iss.message === REQUIRED) {
        const key = JSON.stringify(String(path[path.length - 1]));
        const parent = pathLabel(path.slice(0, -1));
        list.add(path, `${parent ? `${parent}: ` : ''}missing required key ${key}`);
        return;
      }
      if (iss.code === 'invalid_type' && iss.expected !== 'object' && iss.expected !== 'record') {
        // `run: {file}`: YAML made a mapping of a placeholder; say how to quote it
        const hint = list.braceHint(path);
        if (hint !== undefined) {
          list.add(path, label ? `${label}: ${hint}` : hint);
          return;
        }
      }
      break;
  }
  list.add(path, label ? `${label}: ${iss.message}` : iss.message);
}

/**
 * A union's branch that failed on the value's type alone (`for_each: 3` is no mapping
 * for `{ matrix }`, `{ csv }`, …, a union inside the union): not the branch meant.
 */
function wrongType(branch: z.core.$ZodIssue[]): boolean {
  return branch.every(
    (i) =>
      i.path.length === 0 &&
      (i.code === 'invalid_type' || (i.code === 'invalid_union' && i.errors.every(wrongType))),
  );
}
