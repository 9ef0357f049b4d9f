/**
 * `jobrun explain` of a pipeline's stage jobs (`for_each: { from: SOURCE }`): a run
 * makes them from its source's result once the source succeeded. Explain runs nothing,
 * so it makes them only from a result the cache would restore: a source that would be
 * restored, or a stage known so all of whose jobs would be. Any other stage's jobs are
 * not known yet, and it says why.
 */
import type { JobCache } from '../cache/job-cache.js';
import { stageJobs } from '../core/stages.js';
import { stagePlan } from '../manifest/stages.js';
import type { JobSpec, Plan, StageSpec } from '../model/job.js';
import { resultItems } from '../model/result.js';

const ONCE = 'its jobs are known once it ran';

export interface StagesExplained {
  /** The jobs of the stages whose items are known, as a run would make them. */
  jobs: JobSpec[];
  /** The names of a known stage's jobs, by its name template. */
  members: Map<string, string[]>;
  /** Each other stage, by name template: why its jobs are not known yet. */
  unknown: Map<string, Later>;
}

/** A stage whose jobs are not known yet: whether they run anyway (new keys), and why. */
interface Later {
  runs: boolean;
  why: string;
}

/**
 * Expands what can be expanded. `byName` (the plan's jobs) gets the jobs made, so the
 * jobs of a later stage and their keys find them as needs.
 */
export async function explainStages(
  plan: Plan,
  cache: JobCache,
  byName: Map<string, JobSpec>,
  sources: Map<string, string>,
): Promise<StagesExplained> {
  const stages = plan.stages ?? [];
  const expander = stagePlan(stages, Object.keys(plan.pools));
  const members = new Map<string, string[]>();
  const unknown = new Map<string, Later>();
  const jobs: JobSpec[] = [];
  let index = plan.jobs.reduce((n, j) => Math.max(n, j.index + 1), 0);
  const settled = (name: string) => members.has(name) || unknown.has(name);
  const isStage = (name: string) => stages.some((s) => s.name === name);
  // a stage after the stages it reads or needs (a loop is a manifest error)
  const left = [...stages];
  for (let round = 0; left.length > 0 && round <= stages.length; round++) {
    for (const stage of [...left]) {
      const waits = [stage.from, ...stage.needs].filter(isStage);
      if (!waits.every(settled)) continue;
      left.splice(left.indexOf(stage), 1);
      const lost = waits.find((name) => unknown.has(name));
      const got = lost
        ? { runs: unknown.get(lost)!.runs, why: `its jobs need those of ${lost}, not known yet` }
        : await itemsOf(stage, members.get(stage.from) ?? [stage.from], cache, byName, sources);
      if ('why' in got) {
        unknown.set(stage.name, got);
        continue;
      }
      const known = { members, exists: (name: string) => byName.has(name) };
      const made = stageJobs(expander, stage, got.items, got.from, known).map((job): JobSpec => ({
        ...job,
        index: index++,
      }));
      for (const job of made) byName.set(job.name, job);
      members.set(
        stage.name,
        made.map((job) => job.name),
      );
      jobs.push(...made);
    }
  }
  return { jobs, members, unknown };
}

/**
 * The items `stage` gets from the results its source jobs would be restored with, and
 * the job each item came from; or why they are not known.
 */
async function itemsOf(
  stage: StageSpec,
  from: string[],
  cache: JobCache,
  byName: Map<string, JobSpec>,
  sources: Map<string, string>,
): Promise<{ items: string[]; from: string[] } | Later> {
  const items: string[] = [];
  const itemSources: string[] = [];
  for (const source of from) {
    const spec = byName.get(source);
    if (!spec?.cache) return { runs: false, why: `its source ${source} is not cached: ${ONCE}` };
    if (cache.wouldRestore(source) === undefined) await cache.explain(spec, byName, sources);
    const hit = cache.wouldRestore(source);
    // a source that runs has a new key, and so has each job made from it
    if (hit === undefined) return { runs: true, why: `its source ${source} runs: ${ONCE}` };
    const got = resultItems(hit.result);
    if (got === undefined) {
      const why = `the stored result of "${source}" is not a list of items: a run skips it`;
      return { runs: false, why };
    }
    items.push(...got);
    itemSources.push(...got.map(() => source));
  }
  return { items, from: itemSources };
}
