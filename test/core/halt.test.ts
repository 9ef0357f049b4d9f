import { describe, expect, it } from 'vitest';
import { HaltTracker, parseHalt } from '../../src/core/halt.js';
import { describe as describeJob, unranRecord, type JobRecord } from '../../src/model/events.js';
import { job } from './harness.js';

const ran = (status: JobRecord['status'], extra: Partial<JobRecord> = {}): JobRecord => ({
  ...describeJob(job('x')),
  status,
  attempts: [],
  endedAt: 0,
  ...extra,
});

describe('HaltTracker', () => {
  it('halts on the Nth failure, not counting allowed failures or jobs that never ran', () => {
    const t = new HaltTracker(parseHalt('soon,fail=2'));
    for (let i = 0; i < 5; i++) t.added();
    t.inputDone();
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
    t.inputDone();
    expect(t.jobEnded(ran('succeeded'))).toBe(false);
    expect(t.jobEnded(ran('succeeded'))).toBe(true);
  });

  it('compares a percentage against the total once all input is seen', () => {
    const t = new HaltTracker(parseHalt('soon,fail=30%'));
    for (let i = 0; i < 10; i++) t.added();
    t.inputDone();
    expect(t.jobEnded(ran('failed'))).toBe(false);
    expect(t.jobEnded(ran('failed'))).toBe(false);
    expect(t.jobEnded(ran('failed'))).toBe(true);
  });
});
