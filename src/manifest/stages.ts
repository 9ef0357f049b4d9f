/**
 * How a pipeline stage (`for_each: { from: JOB_OR_STAGE }`) becomes jobs once its items
 * are known: the manifest's placeholders filled in per item, as for any `for_each`.
 * The scheduler decides when (see `core/stages.ts`); this says what.
 */
import type { StageJob, StagePlan, StageSpec } from '../model/job.js';
import { expandJob } from './expand.js';

/**
 * The plan of `stages`; a pool an item names must be one of `pools` (the manifest's).
 * `expanded`: stages that expanded in an earlier run (see `StagePlan`).
 */
export function stagePlan(
  stages: readonly StageSpec[],
  pools: readonly string[] = [],
  expanded?: ReadonlyMap<string, readonly string[]>,
): StagePlan {
  return {
    stages,
    ...(expanded && { expanded }),
    expand: (stage, items) => expandStage(stage, items, pools),
  };
}

/**
 * The stage's jobs for `items`, in item order (one per batch with `batch:`). A job whose
 * item filled a setting in badly is `refused`: it ends failed, the others run.
 */
function expandStage(stage: StageSpec, items: string[], pools: readonly string[]): StageJob[] {
  const perItem = stage.perItem && { written: stage.perItem, pools };
  return expandJob(stage, -1, stage.settings, items, { perItem }).map((job) => ({
    ...job.settings,
    name: job.name,
    command: job.command,
    ...(job.members === undefined ? {} : { items: job.members }),
    needs: job.needs,
    ...(job.problems && { refused: job.problems.map((p) => p.message).join('; ') }),
  }));
}
