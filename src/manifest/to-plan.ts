/**
 * The Plan from a manifest's top-level settings (workers, order, pools, output, alerts,
 * on_end) and its expanded jobs (`expandAll` in `plan.ts`).
 */
import type { HooksSpec } from '../model/alerts.js';
import type { Plan } from '../model/job.js';
import type { Expansion } from './plan.js';
import type { ManifestDoc } from './schema.js';

/** Where the Plan comes from: how issues name it, its path, the folder it resolves against. */
export interface PlanSource {
  /** How issues name the source, e.g. the path as the user typed it. */
  file: string;
  /** Goes into the Plan: the absolute path, or null. */
  manifestPath: string | null;
  /** The folder relative `cwd`s and globs are resolved against. */
  baseDir: string;
  /**
   * Whether a job's `cwd` must exist (default true). `jobrun retry` checks the folders
   * of the jobs it runs again itself, where `--cwd DIR` may put them elsewhere.
   */
  checkCwd?: boolean;
}

export function toPlan(doc: ManifestDoc, { jobs, stages }: Expansion, opts: PlanSource): Plan {
  const { workers, order, pools, output } = doc;
  const hooks = toHooks(doc);
  return {
    ...(stages === undefined ? {} : { stages }),
    ...(output === undefined ? {} : { output }),
    ...(hooks === undefined ? {} : { hooks }),
    manifestPath: opts.manifestPath,
    ...(workers === undefined
      ? {}
      : { workers: typeof workers === 'number' ? { min: workers, max: workers } : workers }),
    pools: Object.fromEntries(
      Object.entries(pools ?? {}).map(([name, p]) => [
        name,
        { workers: p.workers, ...(p.per_worker === undefined ? {} : { perWorker: p.per_worker }) },
      ]),
    ),
    order: order ?? 'fifo',
    jobs,
  };
}

/** `alerts:` and `on_end:` as the run takes them. */
function toHooks({ alerts, on_end }: ManifestDoc): HooksSpec | undefined {
  if (alerts === undefined && on_end === undefined) return undefined;
  const hooks: HooksSpec = {};
  if (on_end !== undefined) hooks.onEnd = on_end;
  if (alerts === undefined) return hooks;
  const { queue_depth: depth, failure_rate: rate, stalled, run } = alerts;
  hooks.alerts = {
    ...(depth && { queueDepth: { above: depth.above, forMs: depth.for ?? 0 } }),
    ...(rate && { failureRate: { abovePercent: rate.above, last: rate.last ?? 50 } }),
    ...(stalled !== undefined && { stalledMs: stalled }),
    ...(run !== undefined && { run }),
  };
  return hooks;
}
