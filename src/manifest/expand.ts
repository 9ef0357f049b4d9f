/**
 * Turns validated manifest jobs into runnable `JobSpec`s: merges `defaults`, applies the
 * built-in defaults, resolves `cwd`, and expands `for_each` (a glob or a list) into one
 * job per item with placeholders substituted (shell-quoted in `run`, raw in `name` and
 * `needs`). Linking `needs` to job names is done by `link.ts`, once every job is known.
 */
import path from 'node:path';
import type { BackoffSpec, JobSpec } from '../model/job.js';
import { DEFAULT_CAPTURE_BYTES } from '../model/result.js';
import { compileCommand, hasPlaceholder, substitute, TemplateProblem } from './quote.js';
import type { DefaultsDoc, JobDoc } from './schema.js';

/** What a job gets for every key that neither it nor `defaults` sets. */
export const JOB_DEFAULTS = {
  priority: 0,
  killGraceMs: 5_000,
  retries: 0,
  backoff: { delayMs: 1_000, factor: 2, maxMs: 60_000, jitter: true } satisfies BackoffSpec,
  shell: '/bin/sh',
  allowFailure: false,
} as const;

/** A job's settings other than its identity (name, command, index, needs). */
export type JobSettings = Omit<JobSpec, 'name' | 'command' | 'index' | 'needs'>;

/**
 * Merges a job over `defaults` over `JOB_DEFAULTS`. Job keys win; `env` and `backoff`
 * merge key by key. `cwd` is resolved against `baseDir` (the manifest's folder), so the
 * result is absolute.
 */
export function resolveSettings(
  job: DefaultsDoc,
  defaults: DefaultsDoc,
  baseDir: string,
): JobSettings {
  const backoff = { ...defaults.backoff, ...job.backoff };
  const settings: JobSettings = {
    priority: job.priority ?? defaults.priority ?? JOB_DEFAULTS.priority,
    killGraceMs: job.kill_grace ?? defaults.kill_grace ?? JOB_DEFAULTS.killGraceMs,
    retries: job.retries ?? defaults.retries ?? JOB_DEFAULTS.retries,
    backoff: {
      delayMs: backoff.delay ?? JOB_DEFAULTS.backoff.delayMs,
      factor: backoff.factor ?? JOB_DEFAULTS.backoff.factor,
      maxMs: backoff.max ?? JOB_DEFAULTS.backoff.maxMs,
      jitter: backoff.jitter ?? JOB_DEFAULTS.backoff.jitter,
    },
    shell: job.shell ?? defaults.shell ?? JOB_DEFAULTS.shell,
    cwd: path.resolve(baseDir, job.cwd ?? defaults.cwd ?? '.'),
    env: { ...defaults.env, ...job.env },
    allowFailure: job.allow_failure ?? defaults.allow_failure ?? JOB_DEFAULTS.allowFailure,
  };
  const pool = job.pool ?? defaults.pool;
  if (pool !== undefined) settings.pool = pool;
  const timeout = job.timeout ?? defaults.timeout;
  if (timeout !== undefined) settings.timeout = timeout;
  const capture = job.capture ?? defaults.capture;
  if (capture !== undefined) {
    const maxBytes = job.capture_max ?? defaults.capture_max ?? DEFAULT_CAPTURE_BYTES;
    settings.capture = { mode: capture, maxBytes };
  }
  return settings;
}

/**
 * The items of a `for_each`: a list's values as strings, or the files a glob matches
 * relative to `cwd` (fast-glob, files only, no dotfiles, sorted for a stable order).
 * Throws an `Error` when a glob matches nothing.
 */
export async function forEachItems(
  forEach: string | (string | number)[],
  cwd: string,
): Promise<string[]> {
  if (Array.isArray(forEach)) return forEach.map(String);
  // loaded on first use: most runs never glob, and start-up time is per invocation
  const { default: fg } = await import('fast-glob');
  const files = await fg(forEach, { cwd, dot: false, onlyFiles: true });
  if (files.length === 0) {
    throw new Error(`for_each ${JSON.stringify(forEach)} matched no files (searched in ${cwd})`);
  }
  return files.sort(compareStrings);
}

/** Plain code-unit order: stable across locales. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One job after expansion, before its needs are linked. */
export interface ExpandedJob {
  name: string;
  command: string;
  settings: JobSettings;
  /** Position of the source job in the manifest's `jobs`. */
  source: number;
  /** The `for_each` item and its 1-based position, when the job came from one. */
  item?: { value: string; index: number };
  /** `needs` as written, with item placeholders substituted (raw). */
  needs: string[];
  /** `needs` exactly as written, for "all expansions of a for_each job" matching. */
  rawNeeds: string[];
}

/**
 * Expands one validated job. Without `for_each` it is one job with `run` and `name`
 * untouched (so `find -exec {} \;` survives). With it, each item gives a job whose name
 * is the substituted `name`, or `<name>:<item>` when `name` has no placeholder.
 * A `run` whose placeholders cannot be quoted safely is passed to `onProblem` (and
 * left unsubstituted) when given, else thrown as a `TemplateProblem`.
 */
export function expandJob(
  job: JobDoc,
  source: number,
  settings: JobSettings,
  items?: string[],
  onProblem?: (problem: TemplateProblem) => void,
): ExpandedJob[] {
  const rawNeeds = job.needs ?? [];
  if (items === undefined) {
    return [{ name: job.name, command: job.run, settings, source, needs: [...rawNeeds], rawNeeds }];
  }
  let fill: (item: string, index: number) => string;
  try {
    fill = compileCommand(job.run);
  } catch (err) {
    if (!(err instanceof TemplateProblem) || !onProblem) throw err;
    onProblem(err);
    fill = () => job.run;
  }
  const templated = hasPlaceholder(job.name);
  return items.map((value, i) => ({
    name: templated ? substitute(job.name, value, i + 1, false) : `${job.name}:${value}`,
    command: fill(value, i + 1),
    settings,
    source,
    item: { value, index: i + 1 },
    needs: rawNeeds.map((need) => substitute(need, value, i + 1, false)),
    rawNeeds,
  }));
}
