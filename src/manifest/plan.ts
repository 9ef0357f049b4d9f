/**
 * From a manifest that passed the schema (or the parts salvaged from one that did not)
 * to the Plan's jobs: every job expanded, then the checks that need them all (names,
 * pools, needs, cycles, stages). Shared by the loader's quick and careful ways, which
 * then make the Plan with `toPlan` (`to-plan.ts`).
 */
import type { ItemSettings, JobSpec, StageSpec } from '../model/job.js';
import { DEFAULT_CAPTURE_BYTES, type CaptureSpec } from '../model/result.js';
import type { Item } from './placeholders.js';
import { expandJob, forEachItems, resolveSettings, type ExpandedJob } from './expand.js';
import { perItemOf, reportItemProblems, writtenTexts } from './item-checks.js';
import { compileCommand, TemplateProblem } from './quote.js';
import { checkCycles, checkDuplicateNames, checkPools, linkNeeds } from './link.js';
import type { DocPath, IssueList } from './locate.js';
import { PlaceChecks } from './places.js';
import { checkSyntax } from './shell-check.js';
import type { Parts } from './parts.js';
import { checkStages, type FoundStage } from './stage-check.js';
import type { JobDoc } from './schema.js';
import type { PlanSource } from './to-plan.js';
import { misspeltPlaceholders } from './placeholder-check.js';

/** Expands every job, then runs the checks that need them all; returns the JobSpecs. */
export async function expandAll(
  parts: Parts,
  { baseDir, checkCwd = true }: Pick<PlanSource, 'baseDir' | 'checkCwd'>,
  list: IssueList,
): Promise<Expansion> {
  const { defaults } = parts;
  const expanded: ExpandedJob[] = [];
  const templates = new Map<string, string[]>();
  const stages: FoundStage[] = [];
  const places = new PlaceChecks();
  const reported = new Set<string>();
  const syntax: Template[] = [];
  for (const [source, doc] of parts.jobs.entries()) {
    if (!doc) continue;
    const job = withStdinNeed(doc);
    const settings = resolveSettings(job, defaults, baseDir, job.for_each !== undefined);
    const perItem = perItemOf(job, defaults, source, parts.pools, list, reported);
    if (job.stdin) settings.stdinFrom = [job.stdin.from];
    if (places.shell(settings.shell) === undefined)
      syntax.push({ shell: settings.shell, run: job.run, at: ['jobs', source, 'run'] });
    for (const key of checkCwd ? (['shell', 'cwd'] as const) : (['shell'] as const)) {
      const problem = key === 'shell' ? places.shell(settings.shell) : places.cwd(settings.cwd);
      const at = job[key] !== undefined ? ['jobs', source, key] : ['defaults', key];
      if (problem === undefined || reported.has(at.join('.'))) continue;
      reported.add(at.join('.'));
      list.add(at, problem);
    }
    const onProblem = (problem: TemplateProblem) =>
      list.add(
        ['jobs', source, 'run'],
        `${problem.message} (character ${problem.offset + 1} of run)`,
      );
    const forEach = job.for_each;
    if (forEach !== undefined && typeof forEach === 'object' && 'from' in forEach) {
      checkPlaceholderNames(job, source, undefined, list, perItem?.written);
      // its jobs are made once its items are known: a template that cannot take them
      // safely is refused now, as a for_each list's is, not when the run is under way
      try {
        compileCommand(job.run);
      } catch (err) {
        if (!(err instanceof TemplateProblem)) throw err;
        onProblem(err);
      }
      const { name, run, batch } = job;
      const spec = {
        name,
        run,
        from: forEach.from,
        needs: job.needs ?? [],
        ...(perItem && { perItem: perItem.written }),
      };
      if (batch !== undefined) stages.push({ spec: { ...spec, batch, settings }, source });
      else stages.push({ spec: { ...spec, settings }, source });
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
    if (forEach !== undefined)
      checkPlaceholderNames(job, source, items?.[0]?.named, list, perItem?.written);
    const jobs = expandJob(job, source, settings, items, { onProblem, perItem });
    reportItemProblems(jobs, job, source, list);
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
  checkShellSyntax(syntax, list);
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
    ...(job.settings.stdinFrom && {
      stdinFrom: job.settings.stdinFrom.flatMap((n) => templates.get(n) ?? [n]),
    }),
    needs: [...new Set((edges[index] ?? []).map((e) => expanded[e.to]?.name ?? ''))],
  }));
  captureStdinSources(jobs, stages);
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

/** A job (or stage) a `stdin: { from }` reads captures its stdout as lines unless it says otherwise. */
function captureStdinSources(jobs: JobSpec[], stages: readonly FoundStage[]): void {
  const byName = new Map<string, { capture?: CaptureSpec }>(jobs.map((j) => [j.name, j]));
  for (const { spec } of stages) byName.set(spec.name, spec.settings);
  for (const reader of [...jobs, ...stages.map((s) => s.spec.settings)]) {
    for (const name of reader.stdinFrom ?? []) {
      const source = byName.get(name);
      if (source) source.capture ??= { mode: 'lines', maxBytes: DEFAULT_CAPTURE_BYTES };
    }
  }
}

/**
 * `{itme}` in a for_each job's run, name, needs or settings filled in per item: an issue
 * at the key, with a "did you mean".
 */
function checkPlaceholderNames(
  job: JobDoc,
  source: number,
  named: Record<string, string> | undefined,
  list: IssueList,
  written: ItemSettings | undefined,
): void {
  const columns = Object.keys(named ?? {});
  const texts: [DocPath, string][] = [
    [['jobs', source, 'run'], job.run],
    [['jobs', source, 'name'], job.name],
    ...(job.needs ?? []).map((n, i): [DocPath, string] => [['jobs', source, 'needs', i], n]),
    ...writtenTexts(job, source, written),
  ];
  for (const [at, text] of texts) {
    for (const message of misspeltPlaceholders(text, columns)) list.add(at, message);
  }
}

/** A job's `run` as written, the shell that will read it, and where it stands. */
interface Template {
  shell: string;
  run: string;
  at: DocPath;
}

/** `shell -n` over every template, one batch per shell: a template it rejects is an issue. */
function checkShellSyntax(templates: Template[], list: IssueList): void {
  const byShell = new Map<string, Template[]>();
  for (const t of templates) {
    const batch = byShell.get(t.shell);
    if (batch) batch.push(t);
    else byShell.set(t.shell, [t]);
  }
  for (const [shell, batch] of byShell) {
    const problems = checkSyntax(
      shell,
      batch.map((t) => t.run),
    );
    for (const [i, problem] of problems) {
      const t = batch[i]!;
      const where = t.run.trimEnd().includes('\n') ? ` (line ${problem.line} of run)` : '';
      list.add(t.at, `${shell} cannot parse run: ${problem.message}${where}`);
    }
  }
}

/** `stdin: { from: X }` needs X: its results are known only once it ended. */
function withStdinNeed(job: JobDoc): JobDoc {
  const from = job.stdin?.from;
  if (from === undefined || job.needs?.includes(from)) return job;
  return { ...job, needs: [...(job.needs ?? []), from] };
}

export interface Expansion {
  jobs: JobSpec[];
  stages?: StageSpec[];
}

export function sortIssues<T extends { line: number; column: number }>(issues: T[]): T[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => a.issue.line - b.issue.line || a.issue.column - b.issue.column || a.i - b.i)
    .map(({ issue }) => issue);
}
