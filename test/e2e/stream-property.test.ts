import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { propSettings } from './composition-case.js';
import { eventually, runJobrun, type Exit } from './composition-run.js';
import type { Ending } from './composition-plan.js';
import { alive, readLines, tempDir, writeFiles } from './helpers.js';

/**
 * Streamed input in composition: random lines on stdin (duplicates included) through
 * `--stdin` with a small `--max-queue` (so reading waits on the jobs), random `-j`,
 * jobs that fail for some values, and a first run that ends by itself, by a signal or
 * by kill -9; then `--resume` with the same input, to its end. What must hold:
 * - every run that reports: one record per line it read, and nothing it did not read;
 *   no record of a job that did not run says it ran; the exit code follows the states;
 * - the resumed run has one record per line: a value's copies that succeeded before
 *   are skipped (at most as many as truly succeeded), the others run again, and each
 *   ends as its value says (fails when divisible by 7);
 * - no job process outlives its run.
 * See `propSettings` for replaying a failure and soaking.
 */
const settings = propSettings(8);

interface StreamCase {
  lines: number[];
  workers: number;
  maxQueue: number;
  ending: Extract<Ending, { kind: 'normal' | 'signal' | 'kill9' }>;
}

const caseArb: fc.Arbitrary<StreamCase> = fc.record({
  lines: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 60 }),
  workers: fc.integer({ min: 1, max: 4 }),
  maxQueue: fc.integer({ min: 1, max: 6 }),
  ending: fc.oneof(
    fc.constant({ kind: 'normal' as const }),
    fc.record({
      kind: fc.constant('signal' as const),
      signal: fc.constantFrom('SIGINT' as const, 'SIGTERM' as const),
      afterStarts: fc.integer({ min: 0, max: 20 }),
      delayMs: fc.integer({ min: 0, max: 80 }),
    }),
    fc.record({
      kind: fc.constant('kill9' as const),
      afterStarts: fc.integer({ min: 0, max: 20 }),
      delayMs: fc.integer({ min: 0, max: 80 }),
    }),
  ),
});

const fails = (value: number) => value % 7 === 0;

/**
 * A job: its start marker (what `runJobrun` counts for a stop), its pid, then after a
 * moment its value in `ok` or `failed` as it exits 0 or 1.
 */
const SCRIPT = `d="ran/$PROP_RUN"; : > "$d/$1.$$.start"; echo $$ >> "$d/pids"
sleep 0.02
if [ $(($1 % 7)) = 0 ]; then echo "$1" >> "$d/failed"; exit 1; fi
echo "$1" >> "$d/ok"
`;

const countOf = (values: Array<number | string>) => {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(String(v), (counts.get(String(v)) ?? 0) + 1);
  return counts;
};

function readReport(dir: string, run: number): Report | undefined {
  const file = path.join(dir, `report-${run}.json`);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Report) : undefined;
}

/** What holds for any run that wrote its report. */
function checkReport(c: StreamCase, dir: string, run: number, exit: Exit, report: Report): void {
  const lines = countOf(c.lines);
  const records = countOf(report.jobs.map((j) => j.name));
  for (const [value, n] of records)
    expect(n, `${value}: more records than lines`).toBeLessThanOrEqual(lines.get(value) ?? 0);
  // every job that started has a record of its attempt; an attempt the stop killed may
  // have died before its shell said it started, one that ended by itself did not
  const started = readLines(path.join(dir, 'ran', String(run), 'pids')).length;
  const attempts = (jobs: Report['jobs']) => jobs.reduce((n, j) => n + j.attempts.length, 0);
  expect(started, 'jobs started vs attempts reported').toBeLessThanOrEqual(attempts(report.jobs));
  const ended = report.jobs.filter((j) => j.status !== 'cancelled');
  expect(attempts(ended), 'attempts that ended by themselves vs jobs started').toBeLessThanOrEqual(
    started,
  );
  for (const j of report.jobs) {
    if (j.attempts.length === 0) continue;
    if (j.status === 'succeeded') expect(fails(Number(j.name)), `${j.name} succeeded`).toBe(false);
    if (j.status === 'failed') expect(fails(Number(j.name)), `${j.name} failed`).toBe(true);
  }
  const failed = report.jobs.some((j) => j.status === 'failed');
  const expected = report.interrupted
    ? { SIGINT: 130, SIGTERM: 143 }[report.interrupted]
    : failed
      ? 1
      : 0;
  expect(report.exitCode, 'exit code vs states').toBe(expected);
  if (exit.signal === null) expect(exit.code).toBe(report.exitCode);
  if (!report.interrupted) {
    // a run to its end read every line
    expect(report.jobs.length, 'records of a run to its end').toBe(c.lines.length);
    for (const j of report.jobs)
      expect(j.status, j.name).toBe(fails(Number(j.name)) ? 'failed' : 'succeeded');
  }
}

/** No job of run `run` lives on once jobrun is gone (the spawners stop them). */
async function checkNoneLeft(dir: string, run: number): Promise<void> {
  const pids = readLines(path.join(dir, 'ran', String(run), 'pids')).map(Number);
  const gone = await eventually(() => pids.every((p) => !alive(p)), 5000);
  expect(gone ? [] : pids.filter(alive), `jobs of run ${run} left running`).toEqual([]);
}

async function checkCase(dir: string, c: StreamCase): Promise<void> {
  const input = c.lines.join('\n') + '\n';
  const args = (run: number, more: string[] = []) => [
    'run',
    '--stdin',
    '-j',
    String(c.workers),
    '--max-queue',
    String(c.maxQueue),
    '--report',
    `report-${run}.json`,
    '--progress',
    'none',
    ...more,
    '--',
    'sh job.sh {}',
  ];
  const first = await runJobrun(dir, args(1), 1, c.ending, 45_000, input);
  const report1 = readReport(dir, 1);
  if (report1) checkReport(c, dir, 1, first, report1);
  else expect(first.signal, `no report\n${first.stderr}`).not.toBeNull();
  await checkNoneLeft(dir, 1);
  if (c.ending.kind === 'normal') return;
  const second = await runJobrun(dir, args(2, ['--resume']), 2, { kind: 'normal' }, 45_000, input);
  const report2 = readReport(dir, 2);
  expect(report2, `the resumed run wrote no report\n${second.stderr}`).toBeDefined();
  checkReport(c, dir, 2, second, report2!);
  // copies of a value skipped as succeeded before: at most as many as truly did
  const ok1 = countOf(readLines(path.join(dir, 'ran', '1', 'ok')));
  const skipped = countOf(
    report2!.jobs.filter((j) => j.reason === 'succeeded in an earlier run').map((j) => j.name),
  );
  for (const [value, n] of skipped)
    expect(n, `${value} skipped more often than it succeeded`).toBeLessThanOrEqual(
      ok1.get(value) ?? 0,
    );
  await checkNoneLeft(dir, 2);
}

it(
  `streams stdin through stops, kill -9 and --resume: every line once, as its value says (seed ${settings.seed})`,
  async () => {
    console.log(`stream property: JOBRUN_PROP_SEED=${settings.seed}, ${settings.numRuns} runs`);
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const dir = tempDir('jobrun-prop-stream-');
        writeFiles(dir, { 'job.sh': SCRIPT });
        try {
          await checkCase(dir, c);
        } catch (err) {
          (err as Error).message += `\n\nJOBRUN_PROP_SEED=${settings.seed}; its files: ${dir}`;
          throw err;
        }
        fs.rmSync(dir, { recursive: true, force: true });
      }),
      settings,
    );
  },
  60_000 + settings.numRuns * 30_000,
);
