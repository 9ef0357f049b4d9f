/**
 * Load-time checks of pipeline stages (`for_each: { from: JOB_OR_STAGE }`): the source
 * is a job or a stage, the stage's needs are known, and no chain of needs and sources
 * loops back on itself (which would wait forever). The source (each job of a source
 * stage) captures its stdout as `lines` unless it says otherwise: a stage needs its result.
 */
import type { JobSpec, StageSpec } from '../model/job.js';
import { DEFAULT_CAPTURE_BYTES } from '../model/result.js';
import type { IssueList } from './locate.js';
import { hasPlaceholder } from './quote.js';
import { didYouMean } from './suggest.js';

/** A stage as the loader found it: the spec, and where it sits in the manifest. */
export interface FoundStage {
  spec: StageSpec;
  source: number;
}

/**
 * Checks the stages against the static jobs and prepares both: sources capture lines,
 * a static job's `needs` gain the stage names it waits on (the stage feeder replaces
 * them with the stage's jobs), and a stage's needs on a `for_each` template become
 * that template's job names.
 */
export function checkStages(
  stages: readonly FoundStage[],
  jobs: JobSpec[],
  staticNeeds: ReadonlyMap<number, string[]>,
  templates: ReadonlyMap<string, readonly string[]>,
  list: IssueList,
): void {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const stageNames = new Set(stages.map((s) => s.spec.name));
  for (const [index, names] of staticNeeds) {
    const job = jobs[index];
    if (job) job.needs = [...job.needs, ...names];
  }
  const stageByName = new Map(stages.map((s) => [s.spec.name, s.spec]));
  for (const { spec, source } of stages) {
    // the source is a job, or a stage: then the items are those of all its jobs' results
    const from = byName.get(spec.from) ?? stageByName.get(spec.from)?.settings;
    if (!from) {
      const hint = didYouMean(spec.from, [...byName.keys(), ...stageNames]);
      list.add(
        ['jobs', source, 'for_each', 'from'],
        `${JSON.stringify(spec.from)} is not a job or a stage${hint}`,
      );
      continue;
    }
    from.capture ??= { mode: 'lines', maxBytes: DEFAULT_CAPTURE_BYTES };
    spec.needs = spec.needs.flatMap((need, i) => {
      if (hasPlaceholder(need) || byName.has(need) || stageNames.has(need)) return [need];
      const group = templates.get(need);
      if (group) return [...group];
      // never the stage itself: a cycle
      const others = [...byName.keys(), ...stageNames].filter((name) => name !== spec.name);
      const hint = didYouMean(need, others);
      list.add(['jobs', source, 'needs', i], `needs unknown job ${JSON.stringify(need)}${hint}`);
      return [];
    });
  }
  checkStageCycles(stages, jobs, list);
}

/**
 * Looks for a loop through a stage: the stage waits for its source and its needs; a
 * static job waits for its needs, stages among them. Static-only cycles are the
 * linker's to report.
 */
function checkStageCycles(stages: readonly FoundStage[], jobs: JobSpec[], list: IssueList): void {
  const stageByName = new Map(stages.map((s) => [s.spec.name, s]));
  const jobByName = new Map(jobs.map((j) => [j.name, j]));
  const waitsOn = (node: string): string[] => {
    const stage = stageByName.get(node);
    if (stage) return [stage.spec.from, ...stage.spec.needs.filter((n) => !hasPlaceholder(n))];
    return jobByName.get(node)?.needs ?? [];
  };
  const done = new Set<string>();
  for (const { spec, source } of stages) {
    // depth-first from the stage; a path back to it is a loop
    const path: string[] = [];
    const seen = new Set<string>();
    const visit = (node: string): boolean => {
      if (node === spec.name && path.length > 0) return true;
      if (seen.has(node) || done.has(node)) return false;
      seen.add(node);
      path.push(node);
      for (const next of waitsOn(node)) if (visit(next)) return true;
      path.pop();
      return false;
    };
    if (visit(spec.name)) {
      list.add(
        ['jobs', source, 'for_each', 'from'],
        `dependency cycle: ${[...path, spec.name].join(' → ')}`,
      );
      return;
    }
    done.add(spec.name);
  }
}
