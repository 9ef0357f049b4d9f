/**
 * Turns validated manifest jobs into runnable `JobSpec`s: merges `defaults`, applies the
 * built-in defaults, resolves `cwd`, and expands `for_each` (a glob, a list, a matrix, a
 * CSV or lines file) into one
 * job per item with placeholders substituted (shell-quoted in `run`, raw in `name` and
 * `needs`). Linking `needs` to job names is done by `link.ts`, once every job is known.
 */
import path from 'node:path';
import type { BackoffSpec, ItemSettings, JobCacheSpec, JobSpec } from '../model/job.js';
import { DEFAULT_CAPTURE_BYTES } from '../model/result.js';
import { batchName, type Batch } from './batch.js';
import { fillSettings, type ItemProblem } from './item-settings.js';
import { isTemplate, type Item } from './placeholders.js';
import {
  compileCommand,
  hasPlaceholder,
  substitute,
  substituteGlob,
  TemplateProblem,
} from './quote.js';
import { combineSources } from './sources.js';
import { defaultShell } from './default-shell.js';
import { filesOnly, recoverRawNames } from './raw-names.js';
import type { DefaultsDoc, JobDoc } from './schema.js';

/** What a job gets for every key that neither it nor `defaults` sets. */
export const JOB_DEFAULTS = {
  priority: 0,
  killGraceMs: 5_000,
  retries: 0,
  backoff: { delayMs: 1_000, factor: 2, maxMs: 60_000, jitter: true } satisfies BackoffSpec,
  allowFailure: false,
} as const;

/** A job's settings other than its identity (name, command, index, needs). */
export type JobSettings = Omit<JobSpec, 'name' | 'command' | 'index' | 'needs'>;

/**
 * Merges a job over `defaults` over `JOB_DEFAULTS`. Job keys win; `env` and `backoff`
 * merge key by key. `cwd` is resolved against `baseDir` (the manifest's folder), so the
 * result is absolute. With `perItem` (a job with items), settings written as
 * placeholders are left out: each item fills them in (`itemSettings`).
 */
export function resolveSettings(
  job: DefaultsDoc,
  defaults: DefaultsDoc,
  baseDir: string,
  perItem = false,
): JobSettings {
  const backoff = { ...defaults.backoff, ...job.backoff };
  // a placeholder (`itemSettings`) is filled in per item, over these settings
  const priority = job.priority ?? defaults.priority;
  const settings: JobSettings = {
    priority: typeof priority === 'number' ? priority : JOB_DEFAULTS.priority,
    killGraceMs: job.kill_grace ?? defaults.kill_grace ?? JOB_DEFAULTS.killGraceMs,
    retries: job.retries ?? defaults.retries ?? JOB_DEFAULTS.retries,
    backoff: {
      delayMs: backoff.delay ?? JOB_DEFAULTS.backoff.delayMs,
      factor: backoff.factor ?? JOB_DEFAULTS.backoff.factor,
      maxMs: backoff.max ?? JOB_DEFAULTS.backoff.maxMs,
      jitter: backoff.jitter ?? JOB_DEFAULTS.backoff.jitter,
    },
    shell: job.shell ?? defaults.shell ?? defaultShell(),
    cwd: path.resolve(baseDir, job.cwd ?? defaults.cwd ?? '.'),
    env: { ...defaults.env, ...job.env },
    allowFailure: job.allow_failure ?? defaults.allow_failure ?? JOB_DEFAULTS.allowFailure,
  };
  const pool = job.pool ?? defaults.pool;
  if (pool !== undefined && !(perItem && isTemplate(pool))) settings.pool = pool;
  const lostRetries = job.lost_retries ?? defaults.lost_retries;
  if (lostRetries !== undefined) settings.lostRetries = lostRetries;
  const timeout = job.timeout ?? defaults.timeout;
  if (timeout !== undefined && typeof timeout !== 'string') settings.timeout = timeout;
  const capture = job.capture ?? defaults.capture;
  if (capture !== undefined) {
    const maxBytes = job.capture_max ?? defaults.capture_max ?? DEFAULT_CAPTURE_BYTES;
    settings.capture = { mode: capture, maxBytes };
  }
  if (job.cache ?? defaults.cache) {
    settings.cache = {
      inputs: job.inputs ?? defaults.inputs ?? [],
      outputs: job.outputs ?? defaults.outputs ?? [],
      env: job.cache_env ?? defaults.cache_env ?? [],
      root: baseDir,
    };
  }
  return settings;
}

/**
 * The items of a `for_each`: a list's values, the files a glob matches relative to
 * `cwd` (fast-glob, files only, no dotfiles, sorted for a stable order; names that are
 * not UTF-8 recovered), every combination of a `matrix` (first key outermost, values
 * by key name), the rows of a `csv` file (its first row names the columns) or the
 * records of a `lines` file (newline- or NUL-separated). Files are read as streams,
 * byte for byte. Throws an `Error` when a glob matches nothing or a file is unreadable.
 */
export async function forEachItems(forEach: ForEach, cwd: string): Promise<Item[]> {
  if (Array.isArray(forEach)) return forEach.map((v) => ({ args: [String(v)] }));
  if (typeof forEach === 'string') {
    const files = await matchFiles(forEach, cwd);
    if (files.length === 0) {
      throw new Error(`for_each ${JSON.stringify(forEach)} matched no files (searched in ${cwd})`);
    }
    return files.map((f) => ({ args: [f] }));
  }
  if ('matrix' in forEach) return matrixItems(forEach.matrix);
  if ('from' in forEach) throw new Error('for_each { from } is expanded when its job succeeds');
  const file = 'csv' in forEach ? forEach.csv : forEach.lines;
  const source = { file: path.resolve(cwd, file) };
  const options =
    'csv' in forEach
      ? { csv: true, header: true }
      : { delimiter: forEach.null_separated ? Buffer.of(0) : undefined };
  try {
    const items: Item[] = [];
    for await (const item of combineSources([source], options)) items.push(item);
    return items;
  } catch (err) {
    throw new Error(`for_each cannot read ${file}: ${(err as Error).message}`);
  }
}

type ForEach = NonNullable<JobDoc['for_each']>;

/** Every combination of the matrix's values, the first key outermost. */
function matrixItems(matrix: Record<string, (string | number)[]>): Item[] {
  let items: Item[] = [{ args: [], named: {} }];
  for (const [key, values] of Object.entries(matrix)) {
    items = items.flatMap((item) =>
      values.map((v) => ({
        args: [...item.args, String(v)],
        named: { ...item.named, [key]: String(v) },
      })),
    );
  }
  return items;
}

/** Plain code-unit order: stable across locales. */
/**
 * The files `pattern` matches under `cwd` (fast-glob, files only, no dotfiles; names
 * that are not UTF-8 recovered), sorted, as paths relative to `cwd`. A link to a file
 * is a file; links to folders are not gone into, as bash's `**` and find do not: they
 * may loop (pnpm links packages that need each other both ways), and each loop gave
 * every file behind it again.
 */
export async function matchFiles(pattern: string, cwd: string): Promise<string[]> {
  // loaded on first use: most runs never glob, and start-up time is per invocation
  const { default: fg } = await import('fast-glob');
  const options = { cwd, dot: false, onlyFiles: false, followSymbolicLinks: false };
  return filesOnly(recoverRawNames(await fg(pattern, options), cwd), cwd).sort(compareStrings);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One job after expansion, before its needs are linked. */
export interface ExpandedJob {
  name: string;
  command: string;
  settings: JobSettings;
  /** Position of the source job in the manifest's `jobs`. */
  source: number;
  /** The `for_each` item (as shown) and its 1-based position, when the job came from one. */
  item?: { value: string; index: number };
  /** The items of a batch (`batch: N`). */
  members?: string[];
  /** `needs` as written, with item placeholders substituted (raw). */
  needs: string[];
  /** `needs` exactly as written, for "all expansions of a for_each job" matching. */
  rawNeeds: string[];
  /** Settings its item filled in badly (see `ExpandOptions.perItem`). */
  problems?: ItemProblem[];
}

export interface ExpandOptions {
  /** Called for a `run` whose placeholders cannot be quoted safely (see `expandJob`). */
  onProblem?: (problem: TemplateProblem) => void;
  /** Settings each item fills in, and the pools a filled-in `pool` must name (if known). */
  perItem?: { written: ItemSettings; pools: readonly string[] | undefined };
}

/**
 * Expands one validated job. Without `for_each` it is one job with `run` and `name`
 * untouched (so `find -exec {} \;` survives). With it, each item (or each batch of
 * `batch` items) gives a job whose name is the substituted `name`, or `<name>:<item>`
 * when `name` has no placeholder. A `run` whose placeholders cannot be quoted safely is
 * passed to `onProblem` (and left unsubstituted) when given, else thrown as a
 * `TemplateProblem`. Settings written as placeholders (`perItem`) are filled in per job;
 * a bad value leaves the setting as it was and is among the job's `problems`.
 */
export function expandJob(
  job: JobDoc,
  source: number,
  settings: JobSettings,
  given?: (Item | string)[],
  { onProblem, perItem }: ExpandOptions = {},
): ExpandedJob[] {
  const rawNeeds = job.needs ?? [];
  if (given === undefined) {
    return [{ name: job.name, command: job.run, settings, source, needs: [...rawNeeds], rawNeeds }];
  }
  const items = given.map((it) => (typeof it === 'string' ? { args: [it] } : it));
  const units: (Item & { members?: string[] })[] =
    job.batch === undefined ? items : chunk(items, job.batch);
  let fill: (item: Item, index: number) => string;
  try {
    fill = compileCommand(job.run, Object.keys(items[0]?.named ?? {}));
  } catch (err) {
    if (!(err instanceof TemplateProblem) || !onProblem) throw err;
    onProblem(err);
    fill = () => job.run;
  }
  const fromFiles = typeof job.for_each === 'string';
  // every item of a for_each has the same columns, so the name is templated for all or none
  const templated = hasPlaceholder(job.name, units[0]?.named);
  return units.map((item, i) => {
    const label = item.members ? batchName(item.members) : item.args.join(' ');
    const name = templated ? substitute(job.name, item, i + 1, false) : `${job.name}:${label}`;
    const own = perItem && fillSettings(perItem.written, item, i + 1, name, perItem.pools);
    const cache = settings.cache && cacheFor(settings.cache, item, i + 1, fromFiles);
    const expanded: ExpandedJob = {
      name,
      command: fill(item, i + 1),
      // shared by every job of the for_each unless its item changes them
      settings: own || cache ? { ...settings, ...own?.values, ...(cache && { cache }) } : settings,
      source,
      item: { value: label, index: i + 1 },
      needs: rawNeeds.map((need) => substitute(need, item, i + 1, false)),
      rawNeeds,
    };
    if (item.members && item.members.length > 1) expanded.members = item.members;
    if (own && own.problems.length > 0) expanded.problems = own.problems;
    return expanded;
  });
}

/**
 * One item's cache settings: placeholders in `inputs` and `outputs` substituted (the
 * values' glob characters escaped), and the files of a glob item keyed like inputs.
 */
function cacheFor(
  cache: JobCacheSpec,
  item: Item,
  index: number,
  fromFiles: boolean,
): JobCacheSpec {
  // an item's value is a name: its `?` or `[` must not match other jobs' files
  const fill = (globs: string[]) => globs.map((g) => substituteGlob(g, item, index));
  const own = { ...cache, inputs: fill(cache.inputs), outputs: fill(cache.outputs) };
  return fromFiles ? { ...own, files: item.args } : own;
}

/** Batches of at most `size` items; a batch's args are all its items' args. */
function chunk(items: Item[], size: number): Batch[] {
  const out: Batch[] = [];
  for (let i = 0; i < items.length; i += size) {
    const part = items.slice(i, i + size);
    out.push({ args: part.flatMap((it) => it.args), members: part.map((it) => it.args.join(' ')) });
  }
  return out;
}
