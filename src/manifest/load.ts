/**
 * Reads a manifest (a file, or `-` for stdin), validates it and expands it into a Plan.
 * Every problem found is reported together, each at its file:line:column, in one
 * `ManifestError`; nothing else escapes for bad input.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CORE_SCHEMA, load as loadYaml } from 'js-yaml';
import type { JobSpec, Plan, StageSpec } from '../model/job.js';
import { ManifestError, UsageError } from '../errors.js';
import type { Item } from './placeholders.js';
import { expandJob, forEachItems, resolveSettings, type ExpandedJob } from './expand.js';
import { addZodIssues, errorMap } from './issues.js';
import { checkCycles, checkDuplicateNames, checkPools, linkNeeds } from './link.js';
import { IssueList } from './locate.js';
import { PlaceChecks } from './places.js';
import { salvage, wholeParts, type Parts } from './salvage.js';
import { checkStages, type FoundStage } from './stage-check.js';
import { manifestSchema, type ManifestDoc } from './schema.js';

export interface LoadOptions {
  /** Base for a relative `source`, and the jobs' base folder for stdin (default: process.cwd()). */
  cwd?: string;
  /** Where `-` reads from (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
}

/**
 * Loads the manifest at `source` (`.yaml`, `.yml` or `.json`; JSON is read as YAML, so
 * both keep positions), or reads it whole from stdin when `source` is `-` (issues are
 * labelled `<stdin>`, relative `cwd`s resolve against `opts.cwd`).
 *
 * Throws `UsageError` when the file cannot be read, `ManifestError` with every issue
 * when it is invalid.
 */
export async function loadManifest(source: string, opts: LoadOptions = {}): Promise<Plan> {
  const cwd = opts.cwd ?? process.cwd();
  if (source === '-') {
    const text = await readStream(opts.stdin ?? process.stdin);
    return parseManifest(text, { file: '<stdin>', manifestPath: null, baseDir: cwd });
  }
  const abs = path.resolve(cwd, source);
  let text: string;
  try {
    const info = await stat(abs);
    if (info.isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
    if (!info.isFile())
      throw new UsageError(`manifest ${source} is not a regular file (a device or a pipe?)`);
    if (info.size > MAX_MANIFEST_BYTES) throw new UsageError(tooBig(source));
    text = await readFile(abs, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(readProblem(source, err));
  }
  if (/\.json$/i.test(source)) checkStrictJson(text, source);
  return parseManifest(text, { file: source, manifestPath: abs, baseDir: path.dirname(abs) });
}

/** The largest manifest read (a 100,000-job manifest is about 10 MB). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

function tooBig(source: string): string {
  return `manifest ${source} is larger than ${MAX_MANIFEST_BYTES / 1024 / 1024} MB; refusing to read it`;
}

/**
 * A `.json` manifest is JSON: YAML would accept trailing commas, single quotes and
 * comments, which other JSON tools then choke on. Its first error is reported at
 * its line and column; valid JSON then goes the usual way (YAML keeps positions).
 */
function checkStrictJson(text: string, file: string): void {
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : text.length;
    const before = text.slice(0, offset).split('\n');
    throw new ManifestError([
      {
        file,
        line: before.length,
        column: (before.at(-1)?.length ?? 0) + 1,
        message: `not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      },
    ]);
  }
}

export interface ParseOptions {
  /** How issues name the source, e.g. the path as the user typed it. */
  file: string;
  /** Goes into the Plan: the absolute path, or null. */
  manifestPath: string | null;
  /** The folder relative `cwd`s and globs are resolved against. */
  baseDir: string;
  /** Try the fast pass without positions first (default true; tests compare both). */
  fast?: boolean;
}

/**
 * Validates and expands manifest text (YAML or JSON); see `loadManifest`.
 *
 * Two passes, for speed: a valid manifest is read by js-yaml, which keeps no source
 * positions and is several times faster and smaller than yaml's document model (a
 * 100,000-job manifest: about 1 s instead of 10). Only when that finds any problem is
 * the text read again with positions, to report every issue at its line:column. A
 * test checks that both passes give the same plan.
 */
export async function parseManifest(text: string, opts: ParseOptions): Promise<Plan> {
  const source = text.replace(/^\uFEFF/, '');
  if (opts.fast !== false) {
    const plan = await quickPlan(source, opts);
    if (plan) return plan;
  }
  // the document model with positions costs more to load than the fast reader: only here
  const yaml = await import('yaml');
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
    logLevel: 'error', // no process warnings; problems become issues
  });
  const list = new IssueList(opts.file, { doc, lineCounter, yaml });
  for (const err of doc.errors) {
    const message = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    list.addAt(err.pos[0], `syntax error: ${message}`);
  }
  if (list.issues.length) throw new ManifestError(list.issues);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 10_000 });
  } catch (err) {
    list.addAt(0, `cannot read document: ${(err as Error).message}`);
    throw new ManifestError(list.issues);
  }

  const parsed = manifestSchema.safeParse(data, { error: errorMap });
  if (!parsed.success) addZodIssues(parsed.error, list);
  const parts = parsed.success ? wholeParts(parsed.data) : salvage(data, parsed.error.issues);
  const expansion = parts ? await expandAll(parts, opts.baseDir, list) : { jobs: [] };
  if (!parsed.success || list.issues.length) throw new ManifestError(sortIssues(list.issues));
  return toPlan(parsed.data, expansion, opts);
}

/** Anchors and aliases go the careful way: yaml's reader caps how far aliases expand. */
const ANCHOR_OR_ALIAS = /(^|[\s[{,:-])[&*][^\s]/m;

/** The fast pass: the plan when the manifest is valid, else undefined. */
async function quickPlan(source: string, opts: ParseOptions): Promise<Plan | undefined> {
  if (ANCHOR_OR_ALIAS.test(source)) return undefined;
  let data: unknown;
  try {
    data = loadYaml(source, { schema: CORE_SCHEMA, json: false });
  } catch {
    return undefined;
  }
  const parsed = manifestSchema.safeParse(data, { error: errorMap });
  if (!parsed.success) return undefined;
  const list = new IssueList(opts.file);
  const expansion = await expandAll(wholeParts(parsed.data), opts.baseDir, list);
  return list.issues.length ? undefined : toPlan(parsed.data, expansion, opts);
}

function toPlan(doc: ManifestDoc, { jobs, stages }: Expansion, opts: ParseOptions): Plan {
  const { workers, order, pools } = doc;
  return {
    ...(stages === undefined ? {} : { stages }),
    manifestPath: opts.manifestPath,
    ...(workers === undefined
      ? {}
      : { workers: typeof workers === 'number' ? { min: workers, max: workers } : workers }),
    pools: pools ?? {},
    order: order ?? 'fifo',
    jobs,
  };
}

/** Expands every job, then runs the checks that need them all; returns the JobSpecs. */
async function expandAll(parts: Parts, baseDir: string, list: IssueList): Promise<Expansion> {
  const { defaults } = parts;
  const expanded: ExpandedJob[] = [];
  const templates = new Map<string, string[]>();
  const stages: FoundStage[] = [];
  const places = new PlaceChecks();
  const reported = new Set<string>();
  for (const [source, job] of parts.jobs.entries()) {
    if (!job) continue;
    const settings = resolveSettings(job, defaults, baseDir);
    for (const key of ['shell', 'cwd'] as const) {
      const problem = key === 'shell' ? places.shell(settings.shell) : places.cwd(settings.cwd);
      const at = job[key] !== undefined ? ['jobs', source, key] : ['defaults', key];
      if (problem === undefined || reported.has(at.join('.'))) continue;
      reported.add(at.join('.'));
      list.add(at, problem);
    }
    const forEach = job.for_each;
    if (forEach !== undefined && typeof forEach === 'object' && 'from' in forEach) {
      const spec = { name: job.name, run: job.run, from: forEach.from, needs: job.needs ?? [] };
      stages.push({ spec: { ...spec, settings }, source });
      continue;
    }
    let items: Item[] | undefined;
    if (job.batch !== undefined && forEach === undefined) {
      list.add(
        ['jobs', source, 'batch'],
        'batch needs for_each: it groups the items of a for_each',
      );
    }
    if (forEach !== undefined) {
      try {
        items = await forEachItems(forEach, settings.cwd);
      } catch (err) {
        list.add(['jobs', source, 'for_each'], (err as Error).message);
        items = [];
      }
    }
    const jobs = expandJob(job, source, settings, items, (problem) =>
      list.add(
        ['jobs', source, 'run'],
        `${problem.message} (character ${problem.offset + 1} of run)`,
      ),
    );
    if (items !== undefined)
      templates.set(
        job.name,
        jobs.map((j) => j.name),
      );
    expanded.push(...jobs);
  }
  // a stage's name stands for all of its jobs, as a for_each template does
  const stageUnits = stages.map(({ spec, source }) => ({
    name: spec.name,
    command: spec.run,
    settings: spec.settings,
    source,
    needs: [],
    rawNeeds: [],
  }));
  checkDuplicateNames([...expanded, ...stageUnits], list);
  if (parts.pools) {
    const ownPool = (source: number) => parts.jobs[source]?.pool !== undefined;
    checkPools([...expanded, ...stageUnits], parts.pools, ownPool, list);
  }
  const lenient = (name: string) => parts.unknownNames || parts.invalidNames.has(name);
  const withStages = new Map<string, string[]>(templates);
  for (const { spec } of stages) withStages.set(spec.name, []);
  const edges = linkNeeds(expanded, withStages, lenient, list);
  checkCycles(expanded, edges, list);
  const jobs: JobSpec[] = expanded.map((job, index) => ({
    name: job.name,
    command: job.command,
    ...(job.members === undefined ? {} : { items: job.members }),
    index,
    ...job.settings,
    needs: [...new Set((edges[index] ?? []).map((e) => expanded[e.to]?.name ?? ''))],
  }));
  if (stages.length === 0) return { jobs };
  const stageNames = new Set(stages.map((s) => s.spec.name));
  const staticNeeds = new Map<number, string[]>();
  expanded.forEach((job, index) => {
    const waits = [...new Set(job.rawNeeds.filter((n) => stageNames.has(n)))];
    if (waits.length) staticNeeds.set(index, waits);
  });
  checkStages(stages, jobs, staticNeeds, templates, list);
  return { jobs, stages: stages.map((s) => s.spec) };
}

interface Expansion {
  jobs: JobSpec[];
  stages?: StageSpec[];
}

function sortIssues<T extends { line: number; column: number }>(issues: T[]): T[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => a.issue.line - b.issue.line || a.issue.column - b.issue.column || a.i - b.i)
    .map(({ issue }) => issue);
}

function readProblem(source: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `manifest not found: ${source}`;
  if (code === 'EISDIR') return `manifest ${source} is a directory, not a file`;
  if (code === 'EACCES') return `cannot read manifest ${source}: permission denied`;
  return `cannot read manifest ${source}: ${(err as Error).message}`;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > MAX_MANIFEST_BYTES) throw new UsageError(tooBig('-'));
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}
