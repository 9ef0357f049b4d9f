import { describe, expect, it } from 'vitest';
import { HaltTracker, parseHalt, shouldHalt } from '../../src/core/halt.js';
import { jobRecord, unranRecord, type JobRecord } from '../../src/model/events.js';
import { job } from './harness.js';

const attempt = { attempt: 1, startedAt: 0, durationMs: 1, timedOut: false, exitCode: 0 };

const ran = (status: JobRecord['status'], extra: Partial<JobRecord> = {}): JobRecord => ({
  ...jobRecord(job('x'), { status, attempts: [attempt], endedAt: 0 }),
  ...extra,
});

const resumed = () => ran('succeeded', { reason: 'succeeded in an earlier run', attempts: [] });

describe('HaltTracker', () => {
  it('halts on the Nth failure, not counting allowed failures or jobs that never ran', () => {
    const t = new HaltTracker(parseHalt('soon,fail=2'));
    for (let i = 0; i < 5; i++) t.added();
    expect(t.jobEnded(ran('failed'))).toBe(false);
    expect(t.jobEnded(ran('failed', { allowFailure: true }))).toBe(false);
    expect(t.jobEnded(unranRecord(job('s'), 'skipped', 'need "x" failed', 0))).toBe(false);
    expect(t.jobEnded(ran('succeeded'))).toBe(false);
    expect(t.jobEnded(ran('timed_out'))).toBe(true);
  });

  it('counts successes for success=N', () => {
    const t = new HaltTracker(parseHalt('now,success=2'));
    t.added();
    t.added();
    expect(t.jobEnded(ran('succeeded'))).toBe(false);
    expect(t.jobEnded(ran('succeeded'))).toBe(true);
  });

  it('compares a percentage against the total once all input is seen', () => {
    const t = new HaltTracker(parseHalt('soon,fail=30%'));
    for (let i = 0; i < 10; i++) t.added();
    expect(t.jobEnded(ran('failed'))).toBe(false);
    expect(t.jobEnded(ran('failed'))).toBe(false);
    expect(t.jobEnded(ran('failed'))).toBe(true);
  });
});

describe('halt arithmetic', () => {
  it('halts at exactly N % for every whole percentage of 100 and 1,000 jobs', () => {
    for (const total of [100, 1000]) {
      for (let percent = 1; percent <= 100; percent++) {
        const policy = parseHalt(`soon,fail=${percent}%`);
        const exact = (percent * total) / 100; // a whole number for these totals
        const at = (failures: number) => shouldHalt(policy, { failures, successes: 0, total });
        expect([percent, total, at(exact - 1), at(exact)]).toEqual([percent, total, false, true]);
      }
    }
  });

  it('keeps decimal percentages exact', () => {
    const policy = parseHalt('soon,fail=12.5%');
    expect(shouldHalt(policy, { failures: 24, successes: 0, total: 200 })).toBe(false);
    expect(shouldHalt(policy, { failures: 25, successes: 0, total: 200 })).toBe(true);
  });
});

describe('HaltTracker denominators', () => {
  it('takes percentages of the jobs that will run, not of left-out or resumed ones', () => {
    const t = new HaltTracker(parseHalt('soon,fail=25%'));
    for (let i = 0; i < 10; i++) t.added();
    for (let i = 0; i < 3; i++)
      expect(t.jobEnded(ran('skipped', { excluded: true, attempts: [] }))).toBe(false);
    for (let i = 0; i < 3; i++) expect(t.jobEnded(resumed())).toBe(false);
    expect(t.jobEnded(ran('failed'))).toBe(true); // 1 of 4
  });

  it('on streamed input, compares against the jobs seen so far', () => {
    const t = new HaltTracker(parseHalt('soon,fail=60%'));
    t.added();
    t.added();
    expect(t.jobEnded(ran('failed'))).toBe(false); // 1 of 2 seen
    const u = new HaltTracker(parseHalt('soon,fail=50%'));
    u.added();
    u.added();
    expect(u.jobEnded(ran('failed'))).toBe(true);
  });

  it('does not count resumed jobs as successes', () => {
    const t = new HaltTracker(parseHalt('soon,success=2'));
    for (let i = 0; i < 4; i++) t.added();
    expect(t.jobEnded(resumed())).toBe(false);
    expect(t.jobEnded(ran('succeeded'))).toBe(false);
    expect(t.jobEnded(ran('succeeded'))).toBe(true);
  });
});
