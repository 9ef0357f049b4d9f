import { describe, expect, it } from 'vitest';
import { newEntry } from '../../src/core/entry.js';
import { attemptsRecord, excludedRecord, resumedRecord, Tally } from '../../src/core/records.js';
import { job } from './harness.js';

describe('records', () => {
  it('describe a job that ran by its first start and its last attempt', () => {
    const entry = newEntry(job('a'));
    entry.attempts.push(
      { attempt: 1, startedAt: 10, durationMs: 5, timedOut: false, exitCode: 1, outputTail: 'x' },
      { attempt: 2, startedAt: 30, durationMs: 5, timedOut: false, exitCode: 2, worker: '2' },
    );
    expect(attemptsRecord(entry, 'failed', 99)).toMatchObject({
      name: 'a',
      status: 'failed',
      exitCode: 2,
      worker: '2',
      startedAt: 10,
      endedAt: 99,
    });
    expect(attemptsRecord(entry, 'succeeded', 99).outputTail).toBeUndefined();
  });

  it('mark resumed jobs succeeded and left-out ones excluded', () => {
    const entry = newEntry(job('a'));
    expect(resumedRecord(entry, 1)).toMatchObject({ status: 'succeeded', attempts: [] });
    expect(excludedRecord(entry, 1)).toMatchObject({ status: 'skipped', excluded: true });
  });
});

describe('Tally', () => {
  it('counts final states and turns them into the exit code', () => {
    const tally = new Tally();
    const a = newEntry(job('a'));
    const lint = newEntry(job('lint', { allowFailure: true }));
    [a, lint].forEach(() => tally.added());
    tally.ended(attemptsRecord(lint, 'failed', 0));
    expect(tally.unfinished).toBe(1);
    expect(tally.outcome(5).exitCode).toBe(0);
    tally.ended(attemptsRecord(a, 'timed_out', 0));
    expect(tally.outcome(5)).toMatchObject({
      exitCode: 1,
      summary: { total: 2, failed: 1, timed_out: 1 },
    });
    expect(tally.outcome(5, 'SIGINT').exitCode).toBe(130);
    expect(tally.outcome(5, 'SIGTERM').exitCode).toBe(143);
    expect(excludedRecord(a, 0)).toMatchObject({ excluded: true });
  });
});
