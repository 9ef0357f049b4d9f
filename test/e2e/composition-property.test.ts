import fc from 'fast-check';
import { expect, it } from 'vitest';
import {
  checkEnded,
  checkLeftBehind,
  inCaseDir,
  propSettings,
  runArgs,
  spawnerArgs,
} from './composition-case.js';
import {
  checkNothingAfter,
  checkRecords,
  journaledSuccesses,
  readFacts,
} from './composition-checks.js';
import { endingFlags, scenarioArb, toItsEnd, type Scenario } from './composition-plan.js';
import { readMarkers, runJobrun } from './composition-run.js';

/**
 * The whole product, through the built bin and real processes: random pipelines
 * (jobs, stages of stages, needs, pools, retries, allow_failure, a fan-in) under
 * random endings (to the end, --fail-fast, --halt, SIGINT/SIGTERM with or without
 * --graceful, drain, cancel, kill -9), after a stop maybe --resume, checked against
 * the invariants of the README.
 * See `propSettings` for replaying a failure and soaking.
 */
const settings = propSettings(12);
/** `JOBRUN_PROP_ENDING=steer` (or another kind) soaks one ending alone. */
const ending = process.env.JOBRUN_PROP_ENDING;
const cases = ending ? scenarioArb.filter((s) => s.ending.kind === ending) : scenarioArb;

async function checkCase(dir: string, s: Scenario): Promise<void> {
  const args = (run: number) => [...runArgs(s, run), ...spawnerArgs(s)];
  const first = await runJobrun(dir, [...args(1), ...endingFlags(s.ending)], 1, s.ending);
  if (first.signal !== 'SIGKILL') {
    await checkEnded(dir, s, 1, first);
    if (!s.resume || toItsEnd(s.ending)) return;
  }
  // killed with -9 or stopped: --resume runs what the journal does not hold as succeeded, to the end
  const journaled = journaledSuccesses(dir);
  const before = { exit: first, markers: [...readMarkers(dir, 1).values()] };
  const second = await runJobrun(dir, [...args(2), '--resume'], 2, { kind: 'normal' });
  const facts = await readFacts(dir, 2, second);
  checkRecords(s, facts, false);
  checkLeftBehind(dir, s, facts, false);
  for (const name of journaled) {
    expect(
      facts.markers.filter((m) => m.name === name),
      `${name} ran again`,
    ).toEqual([]);
    const record = facts.report.jobs.find((j) => j.name === name);
    expect(record, `${name} succeeded before`).toMatchObject({ status: 'succeeded', attempts: [] });
  }
  await checkNothingAfter(dir, [before, facts], second);
}

it(
  `keeps every promise on random pipelines, stops and resumes (seed ${settings.seed})`,
  async () => {
    console.log(
      `composition property: JOBRUN_PROP_SEED=${settings.seed}, ${settings.numRuns} runs`,
    );
    await fc.assert(
      fc.asyncProperty(cases, (s) => inCaseDir(s, settings.seed, (dir) => checkCase(dir, s))),
      settings,
    );
  },
  30_000 + settings.numRuns * 20_000,
);
