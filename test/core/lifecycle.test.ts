import { describe, expect, it } from 'vitest';
import { newEntry } from '../../src/core/entry.js';
import { FAIL_FAST, parseHalt } from '../../src/core/halt.js';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { attemptsRecord } from '../../src/core/records.js';
import type { FinalStatus } from '../../src/model/job.js';
import { job } from './harness.js';

/** The record of a job that ran once and ended `status`. */
function ran(status: FinalStatus, reason?: string) {
  const entry = newEntry(job('x'));
  entry.attempts.push({ attempt: 1, startedAt: 0, durationMs: 1, timedOut: false, exitCode: 1 });
  return attemptsRecord(entry, status, 1, reason);
}

/** Whether `over` has settled, after pending callbacks ran. */
async function isOver(life: Lifecycle): Promise<boolean> {
  let over = false;
  void life.over.then(() => (over = true));
  await new Promise((resolve) => setImmediate(resolve));
  return over;
}

function withJobs(n: number, halt?: string): Lifecycle {
  const life = new Lifecycle(halt === undefined ? undefined : parseHalt(halt));
  for (let i = 0; i < n; i++) life.added();
  return life;
}

describe('Lifecycle', () => {
  it('is over once the input ended and every job that entered has ended', async () => {
    const life = withJobs(2);
    life.ended(ran('succeeded'));
    life.inputEnded();
    expect(await isOver(life)).toBe(false);
    life.ended(ran('failed'));
    expect(await isOver(life)).toBe(true);
    expect(life.outcome(5)).toMatchObject({ exitCode: 1, durationMs: 5, summary: { total: 2 } });
    expect(life.stopping).toBe(false);
  });

  it('halts by the policy: soon lets running jobs finish, now stops them', () => {
    const soon = withJobs(3, 'soon,fail=1');
    expect(soon.ended(ran('succeeded'))).toBeUndefined();
    expect(soon.ended(ran('failed'))).toEqual({
      first: true,
      killRunning: false,
      immediate: false,
    });
    expect(soon.reason).toBe('halted by --halt soon,fail=1');
    // a job that fails while the run stops is not judged again
    expect(soon.ended(ran('failed'))).toBeUndefined();
    expect(soon.outcome(1)).toMatchObject({ exitCode: 1, halted: '--halt soon,fail=1' });

    const now = withJobs(3, 'now,fail=1');
    expect(now.ended(ran('timed_out'))).toMatchObject({ first: true, killRunning: true });
  });

  it('--fail-fast is named as the user wrote it, not as the --halt policy it is', () => {
    const life = new Lifecycle(FAIL_FAST);
    life.added();
    life.added();
    expect(life.ended(ran('failed'))).toMatchObject({ first: true, killRunning: false });
    expect(life.reason).toBe('halted by --fail-fast');
    expect(life.outcome(1)).toMatchObject({ exitCode: 1, halted: '--fail-fast' });
  });

  it('a stop ends the input: the run is over once the unfinished jobs end', async () => {
    const life = withJobs(1);
    expect(life.abort('stopped: a reporter failed (EIO)')).toEqual({
      first: true,
      killRunning: true,
      immediate: false,
    });
    expect(await isOver(life)).toBe(false);
    life.ended(ran('cancelled', life.reason));
    expect(await isOver(life)).toBe(true);
    const none = withJobs(0);
    none.interrupt('SIGHUP');
    expect(await isOver(none)).toBe(true);
  });

  it('an interrupt renames an earlier stop; a second one skips the grace; exit is 128+n', () => {
    const life = withJobs(3, 'soon,fail=1');
    life.ended(ran('failed'));
    expect(life.interrupt('SIGINT')).toEqual({ first: false, killRunning: true, immediate: false });
    expect(life.reason).toBe('interrupted by SIGINT');
    expect(life.interrupt('SIGTERM')).toEqual({ first: false, killRunning: true, immediate: true });
    expect(life.reason).toBe('interrupted by SIGINT');
    expect(life.outcome(1)).toMatchObject({ exitCode: 130, interrupted: 'SIGINT' });
  });

  it('an abort keeps the reason of the stop before it', () => {
    const life = withJobs(1);
    life.abort('first');
    expect(life.abort('second')).toMatchObject({ first: false });
    expect(life.reason).toBe('first');
  });

  it('an input that failed stops the run with exit 2, unless the run was stopping already', () => {
    const life = withJobs(1);
    expect(life.inputFailed(new Error('line 3 is over the cap'))).toMatchObject({ first: true });
    expect(life.reason).toBe('stopped by an input error');
    expect(life.outcome(1)).toMatchObject({
      exitCode: 2,
      inputError: 'line 3 is over the cap',
      halted: 'an input error: line 3 is over the cap',
    });

    const closed = withJobs(1);
    closed.interrupt('SIGINT');
    expect(closed.inputFailed(new Error('stream closed'))).toBeUndefined();
    expect(closed.outcome(1)).toMatchObject({ exitCode: 130 });
    expect(closed.outcome(1).inputError).toBeUndefined();
  });

  it('a crash ends the run at once and its outcome throws', async () => {
    const life = withJobs(2);
    const bug = new Error('bookkeeping');
    expect(life.crash(bug)).toBe(true);
    expect(life.crash(new Error('later'))).toBe(false);
    expect(await isOver(life)).toBe(true);
    expect(() => life.outcome(1)).toThrow(bug);
  });
});
