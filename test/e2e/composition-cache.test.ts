import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import {
  checkLeftBehind,
  inCaseDir,
  propSettings,
  runArgs,
  withNodeFlags,
  tornDown,
} from './composition-case.js';
import { checkNothingAfter, checkRecords, readFacts, type RunFacts } from './composition-checks.js';
import {
  JOB_SCRIPT,
  endingFlags,
  manifestOf,
  nodeName,
  scenarioArb,
  toItsEnd,
  type Scenario,
} from './composition-plan.js';
import { readMarkers, runJobrun, type Exit } from './composition-run.js';

/**
 * Incremental runs in composition: the random pipelines of the composition property
 * (stages, needs, pools, retries, failures, timeouts) with `cache: true` and an output
 * file on random nodes, run three times (see `checkCase`): to its end, then ending as
 * the scenario says (a halt, a signal, a drain, kill -9) with the cache full, then to
 * its end again, resumed or not. What must hold besides every promise of a run
 * (`checkRecords`, `checkLeftBehind`):
 * - a job ends `cached` only if it is cached and really succeeded in an earlier run;
 *   it does not run, and its output comes back as that success wrote it;
 * - a job stored before never runs again, and in a run to its end it is `cached` (or
 *   skipped by `--resume`): its key depends on nothing that changed;
 * - a stage fed by a cached job expands from its restored result as from a fresh one,
 *   also on `--resume` after a stop (the journal keeps a cached job's result).
 */
const settings = propSettings(6);

interface CacheCase {
  s: Scenario;
  /** Which nodes have `cache: true` and `outputs: [out/NAME.txt]`. */
  cached: boolean[];
}

const caseArb: fc.Arbitrary<CacheCase> = withNodeFlags(scenarioArb).map(({ s, flags }) => ({
  s,
  cached: flags,
}));

/** Each success writes its output file (`NAME RUN`) before its end marker. */
const SCRIPT = JOB_SCRIPT.replace(
  'echo "$(date +%s%3N) $code" > "$n.end"',
  'if [ $code = 0 ]; then mkdir -p out && echo "$JOBRUN_JOB_NAME $PROP_RUN" > "out/$JOBRUN_JOB_NAME.txt"; fi\n' +
    'echo "$(date +%s%3N) $code" > "$n.end"',
);

const outputOf = (name: string) => `out/${name}.txt`;

/** The scenario's manifest with `cache: true` and the output on each cached node. */
function cachedManifest({ s, cached }: CacheCase): string {
  const lines = manifestOf(s).split('\n');
  s.nodes.forEach((_, i) => {
    if (!cached[i]) return;
    const name = lines.indexOf(`  - name: ${JSON.stringify(nodeName(s, i))}`);
    const run = lines.findIndex((l, k) => k > name && l.startsWith('    run: '));
    const output = JSON.stringify(outputOf(nodeName(s, i)));
    lines.splice(run + 1, 0, '    cache: true', `    outputs: [${output}]`);
  });
  return lines.join('\n');
}

const isCached = (c: CacheCase, name: string) =>
  name !== 'fan' && c.cached[Number(/^[js](\d+)/.exec(name)?.[1])] === true;

/** The runs (before `run`) in which job `name` ran an attempt to exit 0, by its markers. */
function successRuns(dir: string, name: string, before: number): number[] {
  const runs: number[] = [];
  for (let r = 1; r < before; r++)
    for (const m of readMarkers(dir, r).values())
      if (m.name === name && m.end?.code === 0) runs.push(r);
  return runs;
}

const EARLIER = 'succeeded in an earlier run';

/**
 * The cache's promises for run `run`: a job `cached` is a cached one that really
 * succeeded before, did not run, and has its output back as that success wrote it; a
 * cached job that ran to success wrote its own. `mustHit`: the jobs stored before,
 * which never run again and, in a run to its end, end `cached` (or, on `--resume`,
 * skipped as journaled). Returns the facts with each `cached` record read as a success
 * with no attempt (as `--resume` reports one), for the run's other checks.
 */
function checkCacheRun(
  c: CacheCase,
  dir: string,
  facts: RunFacts,
  mustHit: Set<string>,
  toTheEnd: boolean,
): RunFacts {
  const { report } = facts;
  const ran = new Set(facts.markers.map((m) => m.name));
  for (const name of mustHit)
    expect(ran.has(name), `${name} was stored before but ran`).toBe(false);
  for (const j of report.jobs) {
    const file = path.join(dir, outputOf(j.name));
    const written = () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '(none)');
    if (j.status === 'cached') {
      expect(isCached(c, j.name), `${j.name} is not cached but ended cached`).toBe(true);
      expect(ran.has(j.name), `${j.name} ended cached but ran`).toBe(false);
      expect(j.attempts, `${j.name}: a cached job has no attempt`).toEqual([]);
      // restored as the success that stored it wrote it
      const by = Number(written().split(' ')[1]);
      expect(successRuns(dir, j.name, facts.run), `${j.name} restored ${written()}`).toContain(by);
      expect(written()).toBe(`${j.name} ${by}`);
    } else if (j.status === 'succeeded' && j.attempts.length > 0 && isCached(c, j.name)) {
      expect(written(), `${j.name}'s output`).toBe(`${j.name} ${facts.run}`);
    }
    if (toTheEnd && mustHit.has(j.name))
      expect(
        j.status === 'cached' || j.reason === EARLIER,
        `${j.name} was stored before and nothing changed: ${j.status}`,
      ).toBe(true);
  }
  if (toTheEnd)
    for (const name of mustHit)
      expect(
        report.jobs.some((j) => j.name === name),
        `${name}, stored before, has no record`,
      ).toBe(true);
  const cachedCount = report.jobs.filter((j) => j.status === 'cached').length;
  expect(report.summary.cached ?? 0).toBe(cachedCount);
  const asSucceeded: Report = {
    ...report,
    summary: { ...report.summary, succeeded: report.summary.succeeded + cachedCount },
    jobs: report.jobs.map((j) => (j.status === 'cached' ? { ...j, status: 'succeeded' } : j)),
  };
  return { ...facts, report: asSucceeded };
}

/** What a run left for the checks of a later one: its exit and its markers. */
type Ran = Pick<RunFacts, 'exit' | 'markers'>;

/**
 * Checks run `run` as `checkEnded` does, with the cache's promises. After kill -9 the
 * jobs of `--spawner child` live on until the next run (`--resume`) stops them: that
 * run's check takes the killed one as `before`.
 */
async function checkRun(
  dir: string,
  c: CacheCase,
  run: number,
  exit: Exit,
  stopped: boolean,
  mustHit: Set<string>,
  before: Ran[] = [],
): Promise<Ran> {
  const { s } = c;
  if (!fs.existsSync(path.join(dir, `report-${run}.json`))) {
    // killed with -9, or a signal before jobrun could take it: then nothing may have run
    const markers = [...readMarkers(dir, run).values()];
    for (const m of markers) expect(mustHit.has(m.name), `${m.name} stored but ran`).toBe(false);
    if (exit.signal === 'SIGKILL') return { exit, markers };
    expect(markers, `no report, but jobs ran`).toEqual([]);
    await checkNothingAfter(dir, [...before, { exit, markers }], exit);
    return { exit, markers };
  }
  const facts = checkCacheRun(
    c,
    dir,
    await readFacts(dir, run, tornDown(dir, s, run, exit)),
    mustHit,
    !stopped,
  );
  checkRecords(s, facts, stopped);
  checkLeftBehind(dir, s, facts, stopped);
  await checkNothingAfter(dir, [...before, facts], exit);
  return facts;
}

/** The cached jobs a run to its end stored: all that succeeded (its outcomes are the plan's). */
function storedBy(dir: string, c: CacheCase): Set<string> {
  const report = JSON.parse(fs.readFileSync(path.join(dir, 'report-1.json'), 'utf8')) as Report;
  return new Set(
    report.jobs.filter((j) => j.status === 'succeeded' && isCached(c, j.name)).map((j) => j.name),
  );
}

/**
 * Run 1 goes to its end and stores every cached success; run 2 ends as the scenario
 * says (its hits restored); run 3 goes to its end, with `--resume` after a stop the
 * scenario resumes (and after kill -9). The outputs folder is deleted before each run
 * but a resumed one (`--resume` trusts the journal, it restores nothing).
 */
async function checkCase(dir: string, c: CacheCase): Promise<void> {
  const { s } = c;
  const args = (run: number) => [...runArgs(s, run), '--spawner', s.spawner];
  const first = await runJobrun(dir, args(1), 1, { kind: 'normal' });
  await checkRun(dir, c, 1, first, false, new Set());
  const mustHit = storedBy(dir, c);
  fs.rmSync(path.join(dir, 'out'), { recursive: true, force: true });
  const second = await runJobrun(dir, [...args(2), ...endingFlags(s.ending)], 2, s.ending);
  const stopped = !toItsEnd(s.ending);
  const killed = await checkRun(dir, c, 2, second, stopped, mustHit);
  const resume = stopped && (s.resume || second.signal === 'SIGKILL');
  if (!resume) fs.rmSync(path.join(dir, 'out'), { recursive: true, force: true });
  const third = await runJobrun(dir, [...args(3), ...(resume ? ['--resume'] : [])], 3, {
    kind: 'normal',
  });
  const before = second.signal === 'SIGKILL' ? [killed] : [];
  await checkRun(dir, c, 3, third, false, mustHit, before);
}

it(`cached jobs in random pipelines: hits only after a real success, outputs restored, stops and kill -9 between runs (seed ${settings.seed})`, async () => {
  console.log(
    `composition cache property: JOBRUN_PROP_SEED=${settings.seed}, ${settings.numRuns} runs`,
  );
  await fc.assert(
    fc.asyncProperty(caseArb, (c) =>
      inCaseDir(c.s, settings.seed, (dir) => checkCase(dir, c), {
        files: { 'm.yaml': cachedManifest(c), 'job.sh': SCRIPT },
      }),
    ),
    settings,
  );
}, 600_000);
