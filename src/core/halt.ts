import { endedWell } from '../model/job.js';
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
  /** The flag as the user wrote it, for the report: `--halt soon,fail=3` or `--fail-fast`. */
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
  const flag = `--halt ${text}`;
  if (!m[2]) return { when, on: 'fail', count: 1, text: flag };
  const value = Number(m[3]);
  if (m[4] === '%') {
    if (!(value > 0 && value <= 100)) throw bad();
    return { when, on: m[2] as 'fail' | 'success', percent: value, text: flag };
  }
  if (!Number.isInteger(value) || value < 1) throw bad();
  return { when, on: m[2] as 'fail' | 'success', count: value, text: flag };
}

/** `--halt soon,fail=1`, named as the user wrote it. */
export const FAIL_FAST: HaltPolicy = { when: 'soon', on: 'fail', count: 1, text: '--fail-fast' };

/**
 * Should the run halt, given the counts so far? A percentage compares against
 * `total`, the jobs that will run (for streamed input: the ones seen so far), in
 * integer arithmetic, so 29 % of 100 jobs halts at the 29th failure, not the 30th.
 */
export function shouldHalt(
  policy: HaltPolicy,
  counts: { failures: number; successes: number; total: number },
): boolean {
  const hits = policy.on === 'fail' ? counts.failures : counts.successes;
  if (hits === 0) return false;
  if (policy.count !== undefined) return hits >= policy.count;
  const [num, den] = fraction(policy.percent ?? 100);
  return counts.total > 0 && BigInt(hits) * 100n * den >= num * BigInt(counts.total);
}

/** A percentage as an exact fraction: 12.5 → [125n, 10n]. */
function fraction(percent: number): [bigint, bigint] {
  const [whole = '0', decimals = ''] = percent
    .toFixed(10)
    .replace(/\.?0+$/, '')
    .split('.');
  return [BigInt(whole + decimals), 10n ** BigInt(decimals.length)];
}

/**
 * Owns the counts a halt policy is judged on and says when the run should halt.
 * Like GNU parallel, percentages are of the jobs that will run: a job left out by
 * `--only` or done in an earlier run (`--resume`) is not one of them.
 */
export class HaltTracker {
  private willRun = 0;
  private failures = 0;
  private successes = 0;

  constructor(readonly policy: HaltPolicy) {}

  /** A job entered the run. */
  added(): void {
    this.willRun++;
  }

  /** A job left the run without ending (a stage, replaced by its jobs). */
  withdrawn(): void {
    this.willRun--;
  }

  /**
   * A job ended. Returns true when the policy says the run halts now. Jobs that end
   * without running (skipped, cancelled, resumed, left out) never trigger it.
   */
  jobEnded(record: JobRecord): boolean {
    // resumed or restored from the cache: it never ran
    const resumed = endedWell(record.status) && record.attempts.length === 0;
    if (record.excluded || resumed) {
      this.willRun--;
      return false;
    }
    if (record.reason !== undefined) return false;
    if (record.status === 'succeeded') this.successes++;
    const failedForGood = record.status === 'failed' || record.status === 'timed_out';
    if (failedForGood && !record.allowFailure) this.failures++;
    const { failures, successes, willRun } = this;
    return shouldHalt(this.policy, { failures, successes, total: willRun });
  }
}
