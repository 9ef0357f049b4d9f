/**
 * The manifest's side of settings filled in per item (`item-settings.ts`): which a job
 * writes as placeholders, and its items' bad values as issues at the setting, when the
 * items are known before the run (a list, a glob, a matrix, a CSV or lines file).
 */
import type { ItemSettings } from '../model/job.js';
import type { ExpandedJob, ExpandOptions } from './expand.js';
import { itemSettings, type ItemKey } from './item-settings.js';
import type { DocPath, IssueList } from './locate.js';
import type { DefaultsDoc, JobDoc } from './schema.js';

/** Bad values reported per setting of a job; the rest are counted. */
const SHOWN_PER_SETTING = 3;

/**
 * The settings job `source` fills in per item, for `expandJob`. A priority or timeout
 * written as a placeholder in a job without items has nothing to fill it: an issue.
 * (A pool name without items is a name, checked against `pools` as any other.) `reported`
 * holds the positions already reported, shared with the other checks of the plan.
 */
export function perItemOf(
  job: JobDoc,
  defaults: DefaultsDoc,
  source: number,
  pools: Record<string, unknown> | undefined,
  list: IssueList,
  reported: Set<string>,
): ExpandOptions['perItem'] {
  const written = itemSettings(job, defaults);
  if (written === undefined) return undefined;
  if (job.for_each === undefined) {
    for (const key of ['priority', 'timeout'] as const) {
      const template = written[key];
      if (template === undefined) continue;
      const at = settingAt(job, source, key);
      if (reported.has(at.join('.'))) continue; // once for a placeholder in defaults
      reported.add(at.join('.'));
      const why = 'a placeholder is filled in by the items of a for_each, and this job has none';
      list.add(at, `${key} ${JSON.stringify(template)} of job ${job.name}: ${why}`);
    }
    return undefined;
  }
  // pools that were invalid themselves are not checked against
  return { written, pools: pools && Object.keys(pools) };
}

/** Each bad value an item gave job `source`'s jobs: an issue at the setting it fills. */
export function reportItemProblems(
  jobs: readonly ExpandedJob[],
  job: JobDoc,
  source: number,
  list: IssueList,
): void {
  const shown = new Map<ItemKey, number>();
  for (const { problems } of jobs) {
    for (const { key, message } of problems ?? []) {
      const count = (shown.get(key) ?? 0) + 1;
      shown.set(key, count);
      if (count <= SHOWN_PER_SETTING) list.add(settingAt(job, source, key), message);
    }
  }
  for (const [key, count] of shown) {
    if (count <= SHOWN_PER_SETTING) continue;
    const more = count - SHOWN_PER_SETTING;
    list.add(
      settingAt(job, source, key),
      `${key}: ${more} more job${more === 1 ? '' : 's'} of ${job.name} with a bad value`,
    );
  }
}

/** The placeholders a job writes in its settings, each where it stands, for spelling checks. */
export function writtenTexts(
  job: JobDoc,
  source: number,
  written: ItemSettings | undefined,
): [DocPath, string][] {
  return Object.entries(written ?? {}).map(([key, text]) => [
    settingAt(job, source, key as ItemKey),
    text,
  ]);
}

/** Where job `source`'s setting `key` is written: its own key, or `defaults`. */
function settingAt(job: JobDoc, source: number, key: ItemKey): DocPath {
  return job[key] !== undefined ? ['jobs', source, key] : ['defaults', key];
}
