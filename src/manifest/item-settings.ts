/**
 * Settings that each item fills in (`priority: "{prio}"` from a CSV column, `pool:
 * "{pool}"`, `timeout: "{t}"`), and the checks of what an item put there. A manifest
 * whose items are known before the run reports a bad value as an issue; a stage, whose
 * items come during the run, refuses that one job (`JobSpec.refused`).
 */
import type { ItemSettings, JobSpec } from '../model/job.js';
import { parseTimeout } from './duration.js';
import { isTemplate, type Item } from './placeholders.js';
import { substitute } from './quote.js';
import type { DefaultsDoc } from './schema.js';
import { didYouMean } from './suggest.js';

/** A key of `ItemSettings`. */
export type ItemKey = keyof ItemSettings;

/** The settings of `job` (over `defaults`) written as placeholders, or undefined for none. */
export function itemSettings(job: DefaultsDoc, defaults: DefaultsDoc): ItemSettings | undefined {
  const written: ItemSettings = {};
  const priority = job.priority ?? defaults.priority;
  if (typeof priority === 'string') written.priority = priority;
  const pool = job.pool ?? defaults.pool;
  if (pool !== undefined && isTemplate(pool)) written.pool = pool;
  const timeout = job.timeout ?? defaults.timeout;
  if (typeof timeout === 'string') written.timeout = timeout;
  return Object.keys(written).length > 0 ? written : undefined;
}

/** One setting an item filled in badly: which key, and the message naming job and value. */
export interface ItemProblem {
  key: ItemKey;
  message: string;
}

/** What one job's item made of the settings: the values that are good, and the problems. */
export interface FilledSettings {
  values: Partial<Pick<JobSpec, 'priority' | 'pool' | 'timeout'>>;
  problems: ItemProblem[];
}

/**
 * Fills `written` in for the job `name` with `item` (its 1-based `index`) and checks
 * each value: `priority` an integer, `pool` one of `pools`, `timeout` a duration or a
 * percentage (`pools` undefined: any name). Values are taken raw, as in a job's name.
 */
export function fillSettings(
  written: ItemSettings,
  item: Item,
  index: number,
  name: string,
  pools: readonly string[] | undefined,
): FilledSettings {
  const problems: ItemProblem[] = [];
  const fill = <T>(key: ItemKey, parse: (value: string) => T): T | undefined => {
    const template = written[key];
    if (template === undefined) return undefined;
    try {
      return parse(substitute(template, item, index, false));
    } catch (err) {
      const why = (err as Error).message;
      problems.push({ key, message: `${key} ${JSON.stringify(template)} of job ${name}: ${why}` });
      return undefined;
    }
  };
  const priority = fill('priority', integer);
  const pool = fill('pool', (value) => declaredPool(value, pools));
  const timeout = fill('timeout', (value) => parseTimeout(value, ''));
  const values: FilledSettings['values'] = {};
  if (priority !== undefined) values.priority = priority;
  if (pool !== undefined) values.pool = pool;
  if (timeout !== undefined) values.timeout = timeout;
  return { values, problems };
}

/** A whole number written in decimal (an optional sign, digits), within the safe range. */
function integer(text: string): number {
  const n = Number(text.trim());
  if (!/^[-+]?\d+$/.test(text.trim()) || !Number.isSafeInteger(n))
    throw new Error(`${JSON.stringify(text)} is not an integer`);
  return n;
}

function declaredPool(name: string, pools: readonly string[] | undefined): string {
  if (pools === undefined || pools.includes(name)) return name;
  const known = pools.length ? `defined pools: ${pools.join(', ')}` : 'no pools are defined';
  throw new Error(
    `${JSON.stringify(name)} is not a declared pool (${known})${didYouMean(name, pools)}`,
  );
}
