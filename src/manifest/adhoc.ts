/**
 * Ad-hoc jobs, like xargs and GNU parallel: `jobrun run --glob 'PATTERN' -- cmd…` and
 * `… | jobrun run --stdin -- cmd…`. One job per file or input line.
 */
import path from 'node:path';
import type { JobSpec } from '../model/job.js';
import { UsageError } from '../errors.js';
import { compareStrings, JOB_DEFAULTS, type JobSettings } from './expand.js';
import {
  compileAppending,
  compileCommand,
  hasPlaceholder,
  shellQuote,
  substitute,
  TemplateProblem,
} from './quote.js';

/**
 * Builds the command line for each item from the words after `--`.
 *
 * - One word is a shell command line: each placeholder is quoted for the shell context
 *   it sits in (`'gzip -9 {} && rm -f {}.tmp'`, `'echo "file: {}"'`); a template where
 *   that cannot keep the value intact (backticks, `${…}`, a here-document) is a
 *   `UsageError`.
 * - Several words are a program and its arguments: each word has its placeholders
 *   substituted raw and is then shell-quoted whole, so it stays exactly one argument
 *   (`sh -c 'echo "$1"' sh {}`).
 *
 * Either way, when no word has a placeholder the shell-quoted item is appended as the
 * last argument. The returned function takes the item and its 1-based `{index}`.
 */
export function commandTemplate(args: readonly string[]): (item: string, index: number) => string {
  const [only, ...rest] = args;
  if (only === undefined) throw new UsageError('no command given after --');
  if (rest.length === 0) {
    try {
      return hasPlaceholder(only) ? compileCommand(only) : compileAppending(only);
    } catch (err) {
      if (!(err instanceof TemplateProblem)) throw err;
      throw new UsageError(
        `the command after -- cannot take its items safely: ${err.message} (character ${err.offset + 1} of ${JSON.stringify(only)})`,
      );
    }
  }
  if (args.some(hasPlaceholder)) {
    return (item, index) =>
      args.map((arg) => shellQuote(substitute(arg, item, index, false))).join(' ');
  }
  const fixed = args.map(shellQuote).join(' ');
  return (item) => `${fixed} ${shellQuote(item)}`;
}

/** Settings an ad-hoc run gives all its jobs; anything left out takes the job defaults. */
export type AdHocBase = Partial<JobSettings> & { cwd: string; shell: string };

/**
 * One ad-hoc job, named after its item (a file, or a stdin line), at position `index`
 * (0-based) with the command `command`. Priority 0, no needs, no pool unless `base`
 * gives one; other settings from `base`, else the manifest's job defaults.
 */
export function adHocJob(item: string, index: number, command: string, base: AdHocBase): JobSpec {
  const job: JobSpec = {
    name: item,
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
  if (base.pool !== undefined) job.pool = base.pool;
  if (base.timeout !== undefined) job.timeout = base.timeout;
  return job;
}

/**
 * The files `pattern` matches under `cwd` (fast-glob, files only, no dotfiles), sorted,
 * as paths relative to `cwd`. Throws a `UsageError` when nothing matches.
 */
export async function globItems(pattern: string, cwd: string): Promise<string[]> {
  // loaded on first use: most runs never glob, and start-up time is per invocation
  const { default: fg } = await import('fast-glob');
  const files = await fg(pattern, { cwd, dot: false, onlyFiles: true });
  if (files.length === 0)
    throw new UsageError(`--glob ${JSON.stringify(pattern)} matched no files`);
  return files.sort(compareStrings);
}
