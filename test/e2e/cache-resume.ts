/** A cached need that `--resume` skips: its dependants keep its key, locally and on Redis. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { writeFiles } from './helpers.js';

/**
 * Writes `jobs.yaml`: cached `make` (keyed on `in.txt`) and `use`, which needs it and,
 * until a file `go` exists, does `untilGo` (a wait to be killed in, or a failure) before
 * it makes its output. Each appends its name to `ran.log` when it really runs. Returns
 * the check of what a `--resume` and a plain run after it do.
 */
export function writeResumedNeedBatch(dir: string, untilGo: string): ResumeCheck {
  writeFiles(dir, {
    'jobs.yaml': `version: 1
defaults:
  cache: true
jobs:
  - name: make
    run: "echo make >> ran.log && cat in.txt > a.out"
    inputs: [in.txt]
    outputs: [a.out]
  - name: use
    needs: [make]
    run: "echo use >> ran.log && if [ ! -e go ]; then ${untilGo}; fi && cat a.out > b.out"
    outputs: [b.out]
`,
    'in.txt': 'one\n',
  });
  return (run) => expectCachedAfterResume(dir, run);
}

interface BatchRun {
  ran: string[];
  r: { stderr: string };
  report: { summary: Record<string, number> };
}

/** Checks the batch, given how to run it with extra flags. */
type ResumeCheck = (run: (extra: string[]) => Promise<BatchRun>) => Promise<void>;

/**
 * After a run of the batch in which make succeeded and use did not: with `go`,
 * `--resume` runs use only, and then a plain run of the unchanged batch runs nothing
 * (use was stored under the key it is looked up with).
 */
async function expectCachedAfterResume(
  dir: string,
  run: (extra: string[]) => Promise<BatchRun>,
): Promise<void> {
  fs.writeFileSync(path.join(dir, 'go'), '');
  const resumed = await run(['--resume']);
  expect(resumed.ran).toEqual(['use']);
  // nothing changed since: use is restored, not run for a need key it was stored without
  const again = await run(['--explain']);
  expect(again.r.stderr).not.toContain('use runs');
  expect(again.ran).toEqual([]);
  expect(again.report.summary).toMatchObject({ cached: 2 });
}
