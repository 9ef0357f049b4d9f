/**
 * Ad-hoc jobs, like xargs and GNU parallel: `jobrun run --glob 'PATTERN' -- cmd…` and
 * `… | jobrun run --stdin -- cmd…`. One job per file or input line.
 */
import path from 'node:path';
import type { JobSpec } from '../model/job.js';
import { UsageError } from '../errors.js';
import { JOB_DEFAULTS, type JobSettings } from './expand.js';
import { hasPlaceholder, placeholders, placeholderValues } from './placeholders.js';
import type { Item, Placeholder } from './placeholders.js';
import { compileAppending, compileCommand, shellQuote, TemplateProblem } from './quote.js';

/** A job's command: the shell line (also the display form) and, for direct exec, its argv. */
export interface BuiltCommand {
  command: string;
  /** Program and arguments, run without a shell. */
  argv?: string[];
}

/**
 * Builds the command for each item from the words after `--`.
 *
 * - One word is a shell command line: each placeholder is quoted for the shell context
 *   it sits in (`'gzip -9 {} && rm -f {}.tmp'`, `'echo "file: {}"'`); a template where
 *   that cannot keep the value intact (backticks, `${…}`, a here-document) is a
 *   `UsageError`. One that stands for several values (`{}` of a batch or of several
 *   sources) gives each quoted, separated by spaces.
 * - Several words are a program and its arguments, run without a shell (as xargs
 *   does): each word has its placeholders substituted raw and stays one argument
 *   (`sh -c 'echo "$1"' sh {}`). A word with `{}` (or `{.}`, `{file}`, …) of several
 *   values becomes one argument per value (`gzip -9 {}` on a batch: `gzip -9 a b c`).
 *   `command` is then the shell-quoted form, for people and reports.
 *
 * Either way, when no word has a placeholder every arg is appended, each as one
 * argument. The returned function takes the item and its 1-based `{#}`.
 */
export function commandTemplate(
  args: readonly string[],
): (item: Item | string, index: number) => BuiltCommand {
  const [only, ...rest] = args;
  if (only === undefined) throw new UsageError('no command given after --');
  if (rest.length === 0) {
    const line = shellLine(only);
    return (input, index) => ({ command: line(input, index) });
  }
  return (input, index) => {
    const item = typeof input === 'string' ? { args: [input] } : input;
    const templated = args.some((a) => hasPlaceholder(a, item.named));
    const argv = templated
      ? args.flatMap((word) => expandWord(word, item, index))
      : [...args, ...item.args];
    return { command: argv.map(shellQuote).join(' '), argv };
  };
}

/**
 * A one-word command: compiled once (and again for each new set of column names, which
 * `--header` learns from the input). A template that cannot carry values safely is a
 * `UsageError` up front.
 */
function shellLine(template: string): (item: Item | string, index: number) => string {
  const compile = (names: string[]) => {
    try {
      return hasPlaceholder(template, Object.fromEntries(names.map((n) => [n, ''])))
        ? compileCommand(template, names)
        : compileAppending(template);
    } catch (err) {
      if (!(err instanceof TemplateProblem)) throw err;
      throw new UsageError(
        `the command after -- cannot take its items safely: ${err.message} (character ${err.offset + 1} of ${JSON.stringify(template)})`,
      );
    }
  };
  const plain = compile([]);
  let named: { key: string; fill: ReturnType<typeof compile> } | undefined;
  return (input, index) => {
    if (typeof input === 'string' || input.named === undefined) return plain(input, index);
    const names = Object.keys(input.named);
    const key = names.join('\0');
    if (named?.key !== key) named = { key, fill: compile(names) };
    return named.fill(input, index);
  };
}

/** One word of an argv with its placeholders filled: one argument, or one per arg of `item`. */
function expandWord(word: string, item: Item, index: number): string[] {
  const found = [...placeholders(word)].flatMap((p) => {
    const values = placeholderValues(p, item, index);
    return values === undefined ? [] : [{ p, values, perArg: isPerArg(p, item) }];
  });
  if (found.length === 0) return [word];
  const count = found.some((f) => f.perArg) ? item.args.length : 1;
  const out: string[] = [];
  for (let j = 0; j < count; j++) {
    let text = '';
    let last = 0;
    for (const { p, values, perArg } of found) {
      text += word.slice(last, p.at) + (perArg ? values[j] : values.join(' '));
      last = p.at + p.raw.length;
    }
    out.push(text + word.slice(last));
  }
  return out;
}

/** `{}`, `{.}`, `{file}`…: one value per arg (not `{1}`, `{#}` or a named column). */
function isPerArg(p: Placeholder, item: Item): boolean {
  if (p.index || p.position > 0) return false;
  return p.name === undefined || (item.named?.[p.name] === undefined && p.name !== 'index');
}

/** Settings an ad-hoc run gives all its jobs; anything left out takes the job defaults. */
export type AdHocBase = Partial<JobSettings> & { cwd: string; shell: string };

/**
 * One ad-hoc job, named after its item (a file, or a stdin line), at position `index`
 * (0-based) with the command `command`. Priority 0, no needs, no pool unless `base`
 * gives one; other settings from `base`, else the manifest's job defaults.
 */
export function adHocJob(
  item: string,
  index: number,
  built: BuiltCommand | string,
  base: AdHocBase,
  members?: string[],
): JobSpec {
  const { command, argv } = typeof built === 'string' ? { command: built, argv: undefined } : built;
  const job: JobSpec = {
    name: item === '' ? "''" : item, // an empty input line is a job too, shown as ''
    command,
    index,
    priority: base.priority ?? JOB_DEFAULTS.priority,
    needs: [],
    killGraceMs: base.killGraceMs ?? JOB_DEFAULTS.killGraceMs,
    retries: base.retries ?? JOB_DEFAULTS.retries,
    backoff: { ...JOB_DEFAULTS.backoff, ...base.backoff },
    shell: base.shell,
    cwd: path.resolve(base.cwd),
    env: { ...base.env },
    allowFailure: base.allowFailure ?? JOB_DEFAULTS.allowFailure,
  };
  if (argv !== undefined) job.argv = argv;
  if (members !== undefined) job.items = members;
  if (base.pool !== undefined) job.pool = base.pool;
  if (base.timeout !== undefined) job.timeout = base.timeout;
  return job;
}
