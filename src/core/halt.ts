import { UsageError } from '../errors.js';
import type { JobRecord } from '../model/events.js';

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

/**
 * Owns the counts a halt policy is judged on and says when the run should halt.
 * The scheduler tells it about every job that enters the run and every job that ends.
 */
export class HaltTracker {
  private seen = 0;
  private ended = 0;
  private failures = 0;
  private successes = 0;
  private complete = false;

  constructor(readonly policy: HaltPolicy) {}

  /** A job entered the run. */
  added(): void {
    this.seen++;
  }

  /** Every job has been seen: percentages now compare against the total. */
  inputDone(): void {
    this.complete = true;
  }

  /**
   * A job ended. Returns true when the policy says the run halts now. Jobs that end
   * without running for a reason (skipped, resumed, excluded) never trigger it.
   */
  jobEnded(record: JobRecord): boolean {
    this.ended++;
    if (record.status === 'succeeded') this.successes++;
    if (record.excluded || record.reason !== undefined) return false;
    const failedForGood = record.status === 'failed' || record.status === 'timed_out';
    if (failedForGood && !record.allowFailure) this.failures++;
    return shouldHalt(this.policy, {
      failures: this.failures,
      successes: this.successes,
      ended: this.ended,
      total: this.complete ? this.seen : null,
    });
  }
}
