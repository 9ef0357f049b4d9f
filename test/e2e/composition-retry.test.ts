import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { countsAsFailure } from '../../src/model/events.js';
import type { Report, ReportJob } from '../../src/reporters/report.js';
import {
  checkEnded,
  inCaseDir,
  propSettings,
  runArgs,
  spawnerArgs,
  withNodeFlags,
} from './composition-case.js';
import { checkNothingAfter, readFacts } from './composition-checks.js';
import {
  JOB_SCRIPT,
  endingFlags,
  itemsOf,
  manifestOf,
  nodeName,
  scenarioArb,
  type Node,
  type Scenario,
} from './composition-plan.js';
import { runJobrun } from './composition-run.js';

/**
 * The dead-letter re-drive in composition: the composition property's random pipelines
 * (stages of stages, needs, pools, retries, allow_failure, timeouts, a fan-in) run once
 * to their end or to a stop (a halt, --fail-fast, a signal, a drain, a cancel), and then
 * `jobrun retry` of that report, with the failures of random nodes healed. What must hold:
 * - it runs exactly what failed, timed out, or was skipped (a stage that never expanded
 *   expands now), each to the state the plan gives it, and nothing that succeeded or
 *   was cancelled before;
 * - a stage or fan-in it runs reads the results of its sources of both runs: a stage
 *   gets every item, a fan-in every source's line;
 * - one record per job, counts and exit code that follow from the records, and nothing
 *   left running after it.
 */
const settings = propSettings(8);

interface RetryCase {
  s: Scenario;
  /** Nodes whose jobs always succeed in the retry. */
  healed: boolean[];
}

const caseArb: fc.Arbitrary<RetryCase> = withNodeFlags(
  scenarioArb.filter((s) => s.ending.kind !== 'kill9'),
).map(({ s, flags }) => ({ s, healed: flags }));

/** In the retry (run 2), a job of a node listed in `heal/` exits 0 at its first attempt. */
const SCRIPT = JOB_SCRIPT.replace(
  'if [ "$JOBRUN_ATTEMPT" -le "$1" ]; then code=1; fi\n',
  'if [ "$JOBRUN_ATTEMPT" -le "$1" ]; then code=1; fi\n' +
    'i=${JOBRUN_JOB_NAME#?}; i=${i%%-*}\n' +
    'if [ "$PROP_RUN" = 2 ] && [ -f "heal/$i" ]; then code=0; fi\n',
);

const REDRIVEN = new Set(['failed', 'timed_out', 'skipped']);
const EARLIER = 'succeeded in an earlier run';

/**
 * What the retry must end each job it runs in: the first run's records replayed through
 * the plan. A job that succeeded stays done (its results feed the rest), one cancelled
 * stays out, and each job the retry runs ends as the plan's rules say, with a healed
 * node's jobs succeeding at their first attempt.
 */
function expectedRetry(c: RetryCase, first: Map<string, ReportJob>): Map<string, string> {
  const { s } = c;
  const states = new Map<string, string>();
  /** Each node's jobs as the retry knows them: name → succeeded (in either run) or not. */
  const jobsOf: string[][] = [];
  const ok = (name: string) =>
    states.get(name) === 'succeeded' || first.get(name)?.status === 'succeeded';
  const outcome = (n: Node, i: number) =>
    c.healed[i] || n.failFirst <= n.retries ? 'succeeded' : n.hang ? 'timed_out' : 'failed';
  /** A job of the first run: the retry runs it when it needs no job that failed again. */
  const redrive = (name: string, n: Node, i: number, deps: string[]) => {
    const was = first.get(name)?.status ?? '';
    if (!REDRIVEN.has(was)) return;
    states.set(name, deps.every(ok) ? outcome(n, i) : 'skipped');
  };
  s.nodes.forEach((n, i) => {
    const name = nodeName(s, i);
    const deps = n.needs.flatMap((k) => jobsOf[k] ?? []);
    const template = first.get(name);
    if (!n.stage) {
      jobsOf[i] = [name];
      redrive(name, n, i, deps);
      return;
    }
    const sources = jobsOf[n.from] ?? [];
    const itemsFrom = (src: string) => itemsOf(src, s.nodes[n.from]?.items ?? 0);
    if (template === undefined) {
      // it expanded in the first run: each of its jobs there, by the item it came from
      jobsOf[i] = [];
      for (const src of sources)
        for (const item of itemsFrom(src)) {
          const job = `s${i}-${item}`;
          if (!first.has(job)) continue;
          jobsOf[i]!.push(job);
          redrive(job, n, i, [...deps, src]);
        }
      return;
    }
    jobsOf[i] = [name];
    if (template.status !== 'skipped') return; // cancelled: not the retry's
    if (![...deps, ...sources].every(ok)) {
      states.set(name, 'skipped');
      return;
    }
    jobsOf[i] = sources.flatMap((src) => itemsFrom(src).map((item) => `s${i}-${item}`));
    for (const job of jobsOf[i]!) states.set(job, outcome(n, i));
  });
  if (s.fanIn !== null) {
    const sources = jobsOf[s.fanIn] ?? [];
    if (REDRIVEN.has(first.get('fan')?.status ?? ''))
      states.set('fan', sources.every(ok) ? 'succeeded' : 'skipped');
  }
  return states;
}

async function checkCase(dir: string, c: RetryCase): Promise<void> {
  const { s } = c;
  const run1 = await runJobrun(
    dir,
    [...runArgs(s, 1), ...spawnerArgs(s), ...endingFlags(s.ending)],
    1,
    s.ending,
  );
  await checkEnded(dir, s, 1, run1);
  const reportFile = path.join(dir, 'report-1.json');
  if (!fs.existsSync(reportFile)) return; // stopped before it started: nothing ran
  const report1 = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as Report;
  const first = new Map(report1.jobs.map((j) => [j.name, j]));
  fs.mkdirSync(path.join(dir, 'heal'));
  c.healed.forEach((h, i) => h && fs.writeFileSync(path.join(dir, 'heal', String(i)), ''));
  const wanted = report1.jobs.filter((j) => REDRIVEN.has(j.status));
  const args = ['retry', 'report-1.json', ...runArgs(s, 2).slice(2), ...spawnerArgs(s)];
  const run2 = await runJobrun(dir, args, 2, { kind: 'normal' });
  if (wanted.length === 0) {
    expect(run2.code, run2.stderr).toBe(0);
    expect(run2.stderr).toContain('nothing to retry');
    return;
  }
  const facts = await readFacts(dir, 2, run2);
  const jobs = facts.report.jobs;
  const byName = new Map(jobs.map((j) => [j.name, j]));
  expect(byName.size, 'a name reported twice').toBe(jobs.length);
  // what it runs, and how each ends
  const expected = expectedRetry(c, first);
  const ran = new Map(jobs.filter((j) => j.reason !== EARLIER).map((j) => [j.name, j.status]));
  expect(ran, 'the retry’s jobs and their states').toEqual(expected);
  // what succeeded before joins only as done, and nothing else runs
  for (const j of jobs) {
    if (j.reason !== EARLIER) continue;
    expect(first.get(j.name)?.status, `${j.name} joined as done`).toBe('succeeded');
    expect(j.attempts, `${j.name} joined as done`).toEqual([]);
  }
  for (const m of facts.markers)
    expect(ran.has(m.name), `${m.name} ran but the retry does not run it`).toBe(true);
  for (const j of jobs)
    if (j.status === 'skipped' || j.reason === EARLIER)
      expect(
        facts.markers.filter((m) => m.name === j.name),
        `${j.name} ran`,
      ).toEqual([]);
  // a fan-in reads the result of each of its sources that succeeded, in either run
  for (const m of facts.markers.filter((k) => k.name === 'fan' && k.stdin !== undefined)) {
    const read = m.stdin!.split('\n').filter(Boolean);
    const sourceNode = s.nodes[s.fanIn ?? 0];
    const source = nodeName(s, s.fanIn ?? 0);
    const isSource = (j: ReportJob) =>
      sourceNode?.stage ? j.stage === source && j.name !== source : j.name === source;
    const results = [...first.values(), ...jobs]
      .filter((j) => isSource(j) && j.status === 'succeeded' && j.reason !== EARLIER)
      .map((j) => JSON.stringify({ name: j.name, result: j.result ?? null }));
    expect(read.sort(), 'what the fan-in read').toEqual([...new Set(results)].sort());
  }
  // the counts and the exit code follow from the records
  const count = (status: string) => jobs.filter((j) => j.status === status).length;
  expect(facts.report.summary).toMatchObject({
    total: jobs.length,
    succeeded: count('succeeded'),
    failed: count('failed'),
    skipped: count('skipped'),
    cancelled: 0,
  });
  expect(run2.code, run2.stderr).toBe(facts.report.exitCode);
  expect(facts.report.exitCode).toBe(jobs.some(countsAsFailure) ? 1 : 0);
  await checkNothingAfter(dir, [facts], run2);
}

it(
  `re-drives what failed in random pipelines, with their sources' results (seed ${settings.seed})`,
  async () => {
    console.log(`retry property: JOBRUN_PROP_SEED=${settings.seed}, ${settings.numRuns} runs`);
    await fc.assert(
      fc.asyncProperty(caseArb, (c) =>
        inCaseDir(c.s, settings.seed, (dir) => checkCase(dir, c), {
          files: { 'm.yaml': manifestOf(c.s), 'job.sh': SCRIPT },
          how: `, healed ${JSON.stringify(c.healed)}`,
        }),
      ),
      settings,
    );
  },
  30_000 + settings.numRuns * 30_000,
);
