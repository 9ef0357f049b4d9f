import { UsageError } from '../errors.js';

/**
 * When to stop a run early, GNU parallel's `--halt` policy:
 * `soon` stops starting jobs and lets running ones finish; `now` also stops the
 * running ones. The trigger is a count or a percentage of failures or successes.
 */
export interface HaltPolicy {
  when: 'soon' | 'now';
  on: 'fail' | 'success';
  count?: number;
  percent?: number;
  /** The flag as written, for the report. */
  text: string;
}

export function parseHalt(text: string): HaltPolicy {
  const m = /^(now|soon)(?:,(fail|success)=(\d+(?:\.\d+)?)(%?))?$/.exec(text.trim());
  const bad = () =>
    new UsageError(
      `--halt "${text}" is not a halt policy: use now|soon[,fail=N|fail=N%|success=N|success=N%], e.g. --halt soon,fail=3`,
    );
  if (!m) throw bad();
  const when = m[1] as 'soon' | 'now';
  if (!m[2]) return { when, on: 'fail', count: 1, text };
  const value = Number(m[3]);
  if (m[4] === '%') {
    if (!(value > 0 && value <= 100)) throw bad();
    return { when, on: m[2] as 'fail' | 'success', percent: value, text };
  }
  if (!Number.isInteger(value) || value < 1) throw bad();
  return { when, on: m[2] as 'fail' | 'success', count: value, text };
}

export const FAIL_FAST: HaltPolicy = { when: 'soon', on: 'fail', count: 1, text: 'soon,fail=1' };

/**
 * Should the run halt, given the counts so far? `total` is null while jobs still
 * stream in; a percentage then compares against the jobs seen so far.
 */
export function shouldHalt(
  policy: HaltPolicy,
  counts: { failures: number; successes: number; ended: number; total: number | null },
): boolean {
  const hits = policy.on === 'fail' ? counts.failures : counts.successes;
  if (hits === 0) return false;
  if (policy.count !== undefined) return hits >= policy.count;
  const base = counts.total ?? counts.ended;
  return base > 0 && (hits / base) * 100 >= (policy.percent ?? 100);
}
