import type { Report } from '../../src/reporters/report.js';

/** A three-stage pipeline: list → one job per listed item → a total of their results. */
export const PIPELINE = `version: 1
workers: 3
jobs:
  - name: list
    run: printf 'a.txt\\nb b.txt\\nc.txt\\n'
  - name: size-{stem}
    for_each: { from: list }
    run: "wc -c < {file} | tr -d ' '"
    capture: json
    priority: 3
  - name: total
    needs: ["size-{stem}"]
    run: cat out.sum 2>/dev/null; echo done
`;

export const PIPELINE_FILES = {
  'a.txt': 'x'.repeat(3),
  'b b.txt': 'x'.repeat(5),
  'c.txt': 'x'.repeat(7),
};

/**
 * The head of a stage-of-a-stage pipeline, as lines under `jobs:`: `extract` prints a and
 * b, and the stage `t-{item}` prints {item}1 and {item}2 for each, so a stage from
 * "t-{item}" gets a1, a2, b1 and b2, in that job order.
 */
export const EXTRACT_THEN_T = `  - name: extract
    run: printf 'a\\nb\\n'
  - name: t-{item}
    for_each: { from: extract }
    run: printf '{item}1\\n{item}2\\n'
`;

/** The report's jobs by name. */
export const byName = (report: Report) => Object.fromEntries(report.jobs.map((j) => [j.name, j]));
