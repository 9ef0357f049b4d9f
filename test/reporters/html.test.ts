import { describe, expect, it } from 'vitest';
import { htmlData, htmlReport, scriptJson, type HtmlData } from '../../src/reporters/html.js';
import { record, reportOf, T0 } from './helpers.js';

/** The data block exactly as the page's script reads it. */
function embedded(html: string): HtmlData {
  const m = /<script type="application\/json" id="jobrun-data">([\s\S]*?)<\/script>/.exec(html);
  expect(m).not.toBeNull();
  return JSON.parse(m![1]!) as HtmlData;
}

describe('HTML report', () => {
  it('embeds every job and every attempt, with times relative to the run start', () => {
    const jobs = Array.from({ length: 1000 }, (_, i) =>
      record(`job-${i}`, i, { at: i * 10, ms: 50 }),
    );
    jobs[3] = record('job-3', 3, {
      status: 'succeeded',
      attempts: [
        {
          attempt: 1,
          startedAt: T0 + 30,
          durationMs: 20,
          exitCode: 1,
          timedOut: false,
          worker: '2',
        },
        {
          attempt: 2,
          startedAt: T0 + 80,
          durationMs: 20,
          exitCode: 0,
          timedOut: false,
          worker: '3',
        },
      ],
    });
    const data = embedded(htmlReport(reportOf(jobs, 11_000)));
    expect(data.jobs.map((j) => j.name)).toEqual(jobs.map((j) => j.name));
    expect(data.jobs.reduce((n, j) => n + j.attempts.length, 0)).toBe(1001);
    expect(data.jobs[10]!.attempts[0]).toMatchObject({
      start: 100,
      duration: 50,
      outcome: 'succeeded',
    });
    expect(data.jobs[3]!.attempts.map((a) => [a.worker, a.outcome])).toEqual([
      ['2', 'failed'],
      ['3', 'succeeded'],
    ]);
  });

  it('colours attempts by how they ended', () => {
    const data = htmlData(
      reportOf([
        record('t', 0, { status: 'timed_out' }),
        record('c', 1, { status: 'cancelled' }),
        record('f', 2, { status: 'failed' }),
      ]),
    );
    expect(data.jobs.map((j) => j.attempts[0]!.outcome)).toEqual([
      'timed_out',
      'cancelled',
      'failed',
    ]);
  });

  it('output cannot break out of the data script or inject markup', () => {
    const evil = '</script><script>alert(1)</script><!-- & \u2028';
    const html = htmlReport(
      reportOf([record(evil, 0, { status: 'failed', outputTail: evil, command: evil })]),
    );
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the data block's and the app script's own
    expect(html).not.toContain('alert(1)</script>');
    const data = embedded(html);
    expect(data.jobs[0]!.name).toBe(evil);
    expect(data.jobs[0]!.tail).toBe(evil);
    expect(scriptJson({ a: '<&>' })).toBe('{"a":"\\u003c\\u0026\\u003e"}');
  });

  it('is self-contained: no external resources', () => {
    const html = htmlReport(reportOf([record('a', 0)]));
    expect(html).not.toMatch(/\b(src|href)=["']?(https?:)?\/\//);
    expect(html).not.toMatch(/@import|url\(/);
  });
});
