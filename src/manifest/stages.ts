/**
 * How a pipeline stage (`for_each: { from: JOB_OR_STAGE }`) becomes jobs once its items
 * are known: the manifest's placeholders filled in per item, as for any `for_each`.
 * The scheduler decides when (see `core/stages.ts`); this says what.
 */
import type { StageJob, StagePlan, StageSpec } from '../model/job.js';
import { expandJob } from './expand.js';

export function stagePlan(stages: readonly StageSpec[]): StagePlan {
  return { stages, expand: expandStage };
}

/** The stage's jobs for `items`, in item order (one per batch with `batch:`). */
function expandStage(stage: StageSpec, items: string[]): StageJob[] {
  return expandJob(stage, -1, stage.settings, items).map((job) => ({
    ...job.settings,
    name: job.name,
    command: job.command,
    ...(job.members === undefined ? {} : { items: job.members }),
    needs: job.needs,
  }));
}
