import { createHash } from 'node:crypto';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { BackoffSpec, JobSpec, RunSettings, StageSpec, TimeoutSpec } from '../model/job.js';
import { hasRawBytes } from '../model/bytes.js';
import type { CaptureSpec, EarlierSuccess } from '../model/result.js';
import { adHocJob, commandTemplate } from '../manifest/adhoc.js';
import { matchFiles } from '../manifest/expand.js';
import { defaultShell } from '../manifest/default-shell.js';
import { shellQuoteBytes } from '../manifest/quote.js';
import type { Item } from '../manifest/placeholders.js';
import { readRecordBatches } from '../manifest/records.js';
import { checkSyntax } from '../manifest/shell-check.js';
import type { BatchOptions } from '../manifest/batch.js';
import { combineSources, type InputOptions } from '../manifest/sources.js';
import { collect, itemJobs, splitSources } from './ad-hoc-jobs.js';
import { checkCommandPlaceholders, checkSourceFiles, checkStdin } from './input-checks.js';

/** Where a run's jobs come from, with what the run needs to know about them. */
export interface JobSource {
  settings: RunSettings;
  /** An array for manifests and globs; a lazy stream for `--stdin`. */
  jobs: JobSpec[] | AsyncIterable<JobSpec>;
  /** Names the run for its journal: the same identity resumes the same journal. */
  identity: string;
  /** Jobs from `--glob`, `--stdin` or `:::` (their output is shown by default). */
  adHoc: boolean;
  /** Set when the ad-hoc input turned out empty: what was empty, for the one line saying so. */
  empty?: string;
  /** What a re-drive (`jobrun retry`) reads of the run it re-drives. */
  earlier?: EarlierRun;
}

/** The run a re-drive re-drives: what the re-drive's jobs read of it, and what holds them back. */
interface EarlierRun {
  /**
   * A job that succeeded there and joins only for its result (a fan-in's source, a
   * stage's): it ends at once as done, as `--resume` ends the journal's.
   */
  done(job: JobSpec): EarlierSuccess | false;
  /** Stages that expanded there: their jobs (done, or run again) stand for them. */
  stages: ReadonlyMap<string, readonly string[]>;
  /** Why a job cannot run again (a need that ended there otherwise and does not run again). */
  held(job: JobSpec): string | undefined;
}

/** Where ad-hoc jobs come from (`--glob`, `--stdin`, or `:::` sources) and how input is read. */
export interface SourceOptions {
  readonly glob?: string;
  readonly stdin: boolean;
  /** The shell for ad-hoc commands (default: bash when installed, else `/bin/sh`), already checked. */
  readonly shell?: string;
  readonly input: InputOptions;
  /** `-n`/`-X`: several items per job. */
  readonly batching?: BatchOptions;
  /** `--require-input`: empty input is a usage error (exit 2), not "nothing to do". */
  readonly requireInput?: boolean;
}

/** Settings from flags that win over the manifest for every job. */
export interface JobOverrides {
  timeout?: TimeoutSpec;
  retries?: number;
  killGraceMs?: number;
  backoff?: BackoffSpec;
  /** `--capture`: every job keeps its stdout as its result. */
  capture?: CaptureSpec;
}

export async function openSource(
  manifest: string | undefined,
  words: string[],
  options: SourceOptions,
): Promise<JobSource> {
  const { command, sources } = splitSources(words);
  const modes = [
    manifest !== undefined,
    options.glob !== undefined,
    options.stdin,
    sources.length > 0,
  ].filter(Boolean);
  if (modes.length === 0) {
    throw new UsageError(
      'nothing to run: give a manifest (jobrun run jobs.yaml), or --glob/--stdin with a command after --, or ::: values',
    );
  }
  if (modes.length > 1) {
    throw new UsageError(
      'give one of: a manifest, --glob, --stdin or ::: sources (:::: - reads stdin as a source)',
    );
  }
  if (manifest === '-' || options.stdin || sources.some((s) => 'file' in s && s.file === '-'))
    checkStdin();
  checkSourceFiles(sources);
  const cwd = process.cwd();
  if (manifest !== undefined) {
    if (words.length > 0) {
      throw new UsageError(`a manifest brings its own commands; drop "-- ${words.join(' ')}"`);
    }
    const { loadManifest } = await import('../manifest/load.js'); // zod and yaml: only for manifests
    const plan = await loadManifest(manifest);
    // read from stdin or a pipe (`<(make-jobs)`): known by its jobs, not by a name
    const identity =
      plan.manifestPath === null ? stdinManifestIdentity(cwd, plan.jobs) : path.resolve(manifest);
    return { settings: plan, jobs: plan.jobs, identity, adHoc: false };
  }
  if (command.length === 0)
    throw new UsageError('--glob, --stdin and ::: need a command after --, e.g. -- gzip -9 {}');
  const { input, batching } = options;
  checkCommandPlaceholders(command, input);
  const template = commandTemplate(command);
  const base = { cwd, shell: options.shell ?? defaultShell() };
  if (command.length === 1) checkCommandLine(base.shell, command[0]!);
  const settings: RunSettings = { manifestPath: null, pools: {}, order: 'fifo' };
  const toJobs = (items: AsyncIterable<Item> | Iterable<Item>) =>
    itemJobs(items, batching, template, base);
  const noInput = (what: string): string => {
    if (options.requireInput) throw new UsageError(`${what} (--require-input)`);
    return what;
  };
  if (options.glob !== undefined) {
    const files = await matchFiles(options.glob, cwd);
    const jobs = await collect(toJobs(files.map((f) => ({ args: [f] }))));
    const identity = `glob:${cwd}:${options.glob}:${words.join('\0')}`;
    if (files.length > 0) return { settings, jobs, identity, adHoc: true };
    if (hasRawBytes(options.glob)) {
      // the matcher sees names as text, where such a byte is no character it can match
      throw new UsageError(
        `--glob ${quoted(options.glob)} matched no files: its bytes that are not UTF-8 cannot be matched; put ? or * in their place`,
      );
    }
    return {
      settings,
      jobs,
      identity,
      adHoc: true,
      empty: noInput(`--glob ${quoted(options.glob)} matched no files`),
    };
  }
  const identity = `${sources.length > 0 ? 'sources' : 'stdin'}:${cwd}:${words.join('\0')}`;
  if (sources.length === 0 && batching === undefined && !input.colsep && !input.header) {
    // The common `--stdin` case: one generator layer, records taken a chunk at a time.
    const delimiter = input.delimiter;
    const fromStdin = async function* (): AsyncGenerator<JobSpec> {
      let index = 0;
      for await (const records of readRecordBatches(process.stdin, delimiter)) {
        for (const record of records) {
          yield adHocJob(record, index, template(record, index + 1), base);
          index++;
        }
      }
    };
    noteTerminalInput();
    return nonEmpty({ settings, jobs: fromStdin(), identity, adHoc: true }, () =>
      noInput('no input on stdin'),
    );
  }
  const from = sources.length > 0 ? sources : [{ file: '-' }];
  const items = combineSources(from, input);
  const inMemory = from.every((s) => 'values' in s);
  if (from.some((s) => 'file' in s && s.file === '-')) noteTerminalInput();
  const source = {
    adHoc: true,
    settings,
    jobs: inMemory ? await collect(toJobs(items)) : toJobs(items),
    identity,
  };
  return nonEmpty(source, () =>
    noInput(sources.length > 0 ? 'the input sources are empty' : 'no input on stdin'),
  );
}

/**
 * `source` as it was, or marked `empty` when it has no job: a stream is read up to its
 * first job to know (the run would wait for that job anyway), then handed on whole.
 */
async function nonEmpty(source: JobSource, empty: () => string): Promise<JobSource> {
  const { jobs } = source;
  if (Array.isArray(jobs)) return jobs.length > 0 ? source : { ...source, empty: empty() };
  const it = jobs[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return { ...source, jobs: [], empty: empty() };
  const rest = { [Symbol.asyncIterator]: () => it };
  return {
    ...source,
    jobs: (async function* () {
      yield first.value;
      yield* rest;
    })(),
  };
}

function quoted(pattern: string): string {
  if (hasRawBytes(pattern)) return shellQuoteBytes(pattern); // as a shell takes it back
  return /^[\w./*?-]+$/.test(pattern) ? `'${pattern}'` : JSON.stringify(pattern);
}

/** A one-word command is a shell line: one its shell cannot parse stops the run before it starts. */
function checkCommandLine(shell: string, line: string): void {
  const problem = checkSyntax(shell, [line]).get(0);
  if (problem === undefined) return;
  const where = line.includes('\n') ? ` (line ${problem.line})` : '';
  throw new UsageError(`${shell} cannot parse the command after --: ${problem.message}${where}`);
}

/**
 * Input read from a terminal waits for someone to type it: say so, and how to end it,
 * rather than wait in silence (a forgotten `< file` or pipe looks like a hang).
 */
function noteTerminalInput(): void {
  if (!process.stdin.isTTY) return;
  process.stderr.write(
    'jobrun: reading items from the terminal, one per line; press Ctrl-D on a new line to end the input (Ctrl-C to cancel)\n',
  );
}

/** True when the flags change nothing, so the jobs need no extra pass (or generator layer). */
export function noOverrides(overrides: JobOverrides): boolean {
  return Object.values(overrides).every((v) => v === undefined);
}

type Overridable = Pick<JobSpec, 'timeout' | 'retries' | 'capture' | 'killGraceMs' | 'backoff'>;

export function applyOverrides<T extends Overridable>(job: T, overrides: JobOverrides): T {
  if (noOverrides(overrides)) return job;
  const { timeout, retries, capture, killGraceMs, backoff } = overrides;
  return {
    ...job,
    timeout: timeout ?? job.timeout,
    retries: retries ?? job.retries,
    capture: capture ?? job.capture,
    killGraceMs: killGraceMs ?? job.killGraceMs,
    backoff: backoff ?? job.backoff,
  };
}

/** The flags win over a stage's settings too, so its jobs get them as they expand. */
export function overriddenStage(stage: StageSpec, overrides: JobOverrides): StageSpec {
  if (noOverrides(overrides)) return stage;
  const overridden = { ...stage, settings: applyOverrides(stage.settings, overrides) };
  // `--timeout` wins over a timeout each item fills in, too
  if (overrides.timeout === undefined || stage.perItem?.timeout === undefined) return overridden;
  const { timeout: _timeout, ...perItem } = stage.perItem;
  return { ...overridden, perItem };
}

export function mapJobs(
  jobs: JobSpec[] | AsyncIterable<JobSpec>,
  fn: (job: JobSpec) => JobSpec,
): JobSpec[] | AsyncIterable<JobSpec> {
  if (Array.isArray(jobs)) return jobs.map(fn);
  return (async function* () {
    for await (const job of jobs) yield fn(job);
  })();
}

/** `--only 'thumb-*'`: the matching jobs plus every job they need, transitively. */
export function selectJobs(jobs: JobSpec[], patterns: readonly string[]): Set<string> {
  const regexes = patterns.map(nameGlob);
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const selected = new Set<string>();
  const visit = (job: JobSpec) => {
    if (selected.has(job.name)) return;
    selected.add(job.name);
    for (const need of job.needs) {
      const dep = byName.get(need);
      if (dep) visit(dep);
    }
  };
  for (const job of jobs) if (regexes.some((re) => re.test(job.name))) visit(job);
  if (selected.size === 0) {
    throw new UsageError(`--only ${patterns.join(',')} matches no job name`);
  }
  return selected;
}

/** A name pattern: `*` matches any run of characters, `?` one character. */
export function nameGlob(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

/**
 * A manifest on stdin has no path to name its journal by: its jobs do (their names and
 * commands, which `--resume` matches on). The same manifest piped again resumes its
 * journal; two different ones run side by side in one folder.
 */
function stdinManifestIdentity(cwd: string, jobs: readonly JobSpec[]): string {
  const hash = createHash('sha256');
  for (const job of jobs) hash.update(`${job.name}\0${job.command}\0`);
  return `stdin-manifest:${cwd}:${hash.digest('hex')}`;
}
