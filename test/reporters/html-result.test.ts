import { describe, expect, it } from 'vitest';
import { htmlData, htmlReport } from '../../src/reporters/html.js';
import { record, reportOf, T0 } from './helpers.js';

describe('HTML report: results and attempt tails', () => {
  it("puts each job's result (its beginning) and each failed attempt's tail in the page data", () => {
    const big = 'y'.repeat(5000);
    const jobs = [
      record('counts', 0, { result: { files: 3, words: [1, 2] } }),
      record('text', 1, { result: big, resultTruncated: true }),
      record('plain', 2),
      record('flaky', 3, {
        attempts: [
          {
            attempt: 1,
            startedAt: T0,
            durationMs: 5,
            exitCode: 2,
            timedOut: false,
            outputTail: 'boom',
          },
          { attempt: 2, startedAt: T0 + 20, durationMs: 5, exitCode: 0, timedOut: false },
        ],
      }),
      record('bad-json', 4, {
        status: 'failed',
        attempts: [
          {
            attempt: 1,
            startedAt: T0,
            durationMs: 5,
            exitCode: 0,
            timedOut: false,
            error: 'capture json: stdout is not JSON (x)',
          },
        ],
      }),
    ];
    const data = htmlData(reportOf(jobs));
    const byName = Object.fromEntries(data.jobs.map((j) => [j.name, j]));
    expect(JSON.parse(byName.counts!.result!)).toEqual({ files: 3, words: [1, 2] });
    expect(byName.text!.result!.startsWith('y'.repeat(2000))).toBe(true);
    expect(byName.text!.result!.endsWith('… (cut)')).toBe(true);
    expect(byName.text!.result!.length).toBeLessThan(2100);
    expect(byName.plain!.result).toBeNull();
    expect(byName.flaky!.attempts.map((a) => a.tail)).toEqual(['boom', null]);
    expect(byName['bad-json']!.attempts[0]).toMatchObject({
      exit: 'bad result',
      tail: 'capture json: stdout is not JSON (x)',
    });
    // the page's script shows them in the details panel
    const html = htmlReport(reportOf(jobs));
    expect(html).toContain("'result:'");
  });
});
