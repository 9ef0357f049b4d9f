import { describe, expect, it } from 'vitest';
import type { AttemptResult } from '../../src/model/attempt.js';
import type { JobRecord } from '../../src/model/events.js';
import { attemptEnding, jobEnding } from '../../src/model/outcome.js';
import { painter } from '../../src/reporters/format.js';
import { htmlData } from '../../src/reporters/html.js';
import { testcase } from '../../src/reporters/junit.js';
import { jobLines } from '../../src/reporters/plain.js';
import { SummaryTable } from '../../src/reporters/summary.js';
import { record, reportOf, T0 } from './helpers.js';

const attempt = (extra: Partial<AttemptResult>): AttemptResult => ({
  attempt: 1,
  startedAt: T0,
  durationMs: 10,
  timedOut: false,
  worker: 'h:1/1',
  ...extra,
});

/** Attempts that ended without an exit status, and the job status each leaves. */
const noExit: Array<[JobRecord['status'], string]> = [
  ['failed', 'lost: worker h:1 stopped renewing its lock'],
  ['failed', 'could not enqueue: connect ECONNREFUSED 127.0.0.1:6379'],
  ['cancelled', 'no worker confirmed the stop'],
  ['failed', 'shell /bin/nope not found'],
];

const jobWith = (status: JobRecord['status'], a: AttemptResult, i = 0) =>
  record(`j${i}`, i, { status, attempts: [a], exitCode: a.exitCode, signal: a.signal });

describe('how an attempt ended: one wording', () => {
  it('words every kind of end once', () => {
    expect(attemptEnding({ exitCode: 3 })).toEqual({ text: 'exit 3', short: '3' });
    expect(attemptEnding({ signal: 'SIGKILL' })).toEqual({
      text: 'killed by SIGKILL',
      short: 'SIGKILL',
    });
    expect(attemptEnding({ timedOut: true, signal: 'SIGTERM' })).toEqual({
      text: 'timed out (SIGTERM)',
      short: 'timeout (SIGTERM)',
    });
    expect(attemptEnding({ error: 'lost: worker gone' })).toEqual({
      text: 'lost: worker gone',
      short: 'lost',
    });
    const skipped = record('s', 0, { status: 'skipped', reason: 'need "a" failed' });
    expect(jobEnding(skipped)).toEqual({ text: 'need "a" failed', short: '–' });
  });

  it('labels no lost, withdrawn or unconfirmed attempt "spawn error", in any reporter', () => {
    const jobs = noExit.map(([status, error], i) => jobWith(status, attempt({ error }), i));
    const table = new SummaryTable();
    jobs.forEach((j) => table.add(j));
    const rendered = table.render(painter(false));
    const html = htmlData(reportOf(jobs));
    expect(rendered).not.toContain('spawn error');
    expect(JSON.stringify(html)).not.toContain('spawn error');
    noExit.forEach(([, error], i) => {
      const short = error.split(':')[0]!;
      expect(rendered).toContain(short);
      expect(html.jobs[i]!.exit).toBe(short);
      expect(html.jobs[i]!.attempts[0]!.exit).toBe(short);
    });
  });

  it('says the same in the plain lines, JUnit, the summary table and the HTML page', () => {
    const cases: Array<[JobRecord['status'], Partial<AttemptResult>]> = [
      ['failed', { exitCode: 3 }],
      ['failed', { signal: 'SIGKILL' }],
      ['timed_out', { timedOut: true, signal: 'SIGTERM' }],
      ...noExit.map(([s, error]): [JobRecord['status'], Partial<AttemptResult>] => [s, { error }]),
    ];
    const jobs = cases.map(([status, a], i) => jobWith(status, attempt(a), i));
    const report = reportOf(jobs);
    const html = htmlData(report);
    const table = new SummaryTable();
    jobs.forEach((j) => table.add(j));
    const rendered = table.render(painter(false));
    jobs.forEach((job, i) => {
      const { text, short } = attemptEnding(job.attempts[0]!);
      expect(jobLines(job, '[1/1]', painter(false), false)[0]).toContain(text);
      if (job.status !== 'cancelled') expect(testcase(report.jobs[i]!)).toContain(text);
      expect(html.jobs[i]!.exit).toBe(short);
      expect(rendered).toContain(short);
    });
  });
});
