import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import {
  checkNothingAfter,
  checkRecords,
  journaledSuccesses,
  readFacts,
} from './composition-checks.js';
import {
  endingFlags,
  JOB_SCRIPT,
  manifestOf,
  scenarioArb,
  type Scenario,
} from './composition-plan.js';
import { readMarkers, runJobrun } from './composition-run.js';
import { tempDir, writeFiles } from './helpers.js';

/**
 * The whole product, through the built bin and real processes: random pipelines
 * (jobs, stages of stages, needs, pools, retries, allow_failure, a fan-in) under
 * random endings (to the end, --fail-fast, --halt, SIGINT/SIGTERM with or without
 * --graceful, kill -9 then --resume), checked against the invariants of the README.
 *
 * JOBRUN_PROP_SEED replays a failure (its seed is printed), JOBRUN_PROP_RUNS soaks.
 */
const SEED = Number(process.env.JOBRUN_PROP_SEED ?? Math.floor(Math.random() * 2 ** 31));
const RUNS = Number(process.env.JOBRUN_PROP_RUNS ?? 12);
/** fast-check's `path` of a failure (printed with it): replays that case alone. */
const PATH = process.env.JOBRUN_PROP_PATH;

function args(s: Scenario, run: number): string[] {
  return [
    'run',
    'm.yaml',
    '--json',
    '--report',
    `report-${run}.json`,
    '--junit',
    `junit-${run}.xml`,
    '--output',
    s.output,
  ];
}

const hasReport = (dir: string, run: number) => fs.existsSync(path.join(dir, `report-${run}.json`));

/** One case in a folder of its own, removed when it passes and named when it fails. */
async function runCase(s: Scenario): Promise<void> {
  const dir = tempDir('jobrun-prop-');
  try {
    await checkCase(dir, s);
  } catch (err) {
    const e = err as Error;
    e.message += `\n\nJOBRUN_PROP_SEED=${SEED}; its files: ${dir}; ending ${JSON.stringify(s.ending)}, --output ${s.output}\n${manifestOf(s)}`;
    throw e;
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function checkCase(dir: string, s: Scenario): Promise<void> {
  writeFiles(dir, { 'm.yaml': manifestOf(s), 'job.sh': JOB_SCRIPT });
  const first = await runJobrun(dir, [...args(s, 1), ...endingFlags(s.ending)], 1, s.ending);
  if (s.ending.kind === 'signal' && first.signal === s.ending.signal && !hasReport(dir, 1)) {
    // a signal before jobrun set its handlers (Node still starting) ends it by default:
    // acceptable only while nothing ran
    const markers = [...readMarkers(dir, 1).values()];
    expect(markers, `no report, but jobs ran\n${first.stderr}`).toEqual([]);
    await checkNothingAfter(dir, [{ exit: first, markers }], first);
    return;
  }
  if (first.signal !== 'SIGKILL') {
    const facts = await readFacts(dir, 1, first);
    checkRecords(s, facts, s.ending.kind !== 'normal' && s.ending.kind !== 'kill9');
    await checkNothingAfter(dir, [facts], first);
    return;
  }
  // killed with -9: --resume runs what the journal does not hold as succeeded, to the end
  const journaled = journaledSuccesses(dir);
  const before = { exit: first, markers: [...readMarkers(dir, 1).values()] };
  const second = await runJobrun(dir, [...args(s, 2), '--resume'], 2, { kind: 'normal' });
  const facts = await readFacts(dir, 2, second);
  checkRecords(s, facts, false);
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
  `keeps every promise on random pipelines, stops and resumes (seed ${SEED})`,
  async () => {
    console.log(`composition property: JOBRUN_PROP_SEED=${SEED} JOBRUN_PROP_RUNS=${RUNS}`);
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        try {
          await runCase(s);
        } catch (err) {
          const e = err as Error;
          e.message += `\n\nJOBRUN_PROP_SEED=${SEED}; ending ${JSON.stringify(s.ending)}, --output ${s.output}\n${manifestOf(s)}`;
          throw e;
        }
      }),
      // a case is a few real runs: replaying the seed beats shrinking through hundreds of them
      { seed: SEED, numRuns: RUNS, endOnFailure: true, ...(PATH ? { path: PATH } : {}) },
    );
  },
  30_000 + RUNS * 20_000,
);
