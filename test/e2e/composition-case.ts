import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { checkNothingAfter, checkRecords, readFacts, type RunFacts } from './composition-checks.js';
import { checkJournal, checkLogs, checkShownOutput } from './composition-outputs.js';
import { JOB_SCRIPT, manifestOf, toItsEnd, type Scenario } from './composition-plan.js';
import { readMarkers, type Exit } from './composition-run.js';
import { tempDir, writeFiles } from './helpers.js';

/**
 * How many cases, from which seed: `JOBRUN_PROP_SEED` replays a failure (its seed is
 * printed), `JOBRUN_PROP_PATH` (fast-check's path, printed with it) that case alone,
 * `JOBRUN_PROP_RUNS` soaks.
 */
export function propSettings(runs: number) {
  const seed = Number(process.env.JOBRUN_PROP_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const path = process.env.JOBRUN_PROP_PATH;
  return {
    seed,
    numRuns: Number(process.env.JOBRUN_PROP_RUNS ?? runs),
    // a case is a few real runs: replaying the seed beats shrinking through hundreds of them
    endOnFailure: true,
    ...(path ? { path } : {}),
  };
}

/** `jobrun run` of the case's manifest, its reports named after the run. */
export function runArgs(s: Scenario, run: number): string[] {
  const reports = ['--report', `report-${run}.json`, '--junit', `junit-${run}.xml`];
  const output = s.output === 'default' ? [] : ['--output', s.output];
  return ['run', 'm.yaml', '--json', ...reports, ...output];
}

/** A scenario with a flag for each of its nodes (cached, healed, …). */
export const withNodeFlags = (scenarios: fc.Arbitrary<Scenario>) =>
  fc
    .record({ s: scenarios, flags: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }) })
    .map(({ s, flags }) => ({ s, flags: s.nodes.map((_, i) => flags[i] ?? false) }));

/** How a local run starts its jobs. */
export const spawnerArgs = (s: Scenario) => ['--spawner', s.spawner];

/** What a local run leaves beside its report: logs, shown output, journal. */
export function checkLeftBehind(dir: string, s: Scenario, facts: RunFacts, stopped: boolean): void {
  checkLogs(s, facts);
  checkShownOutput(s, facts, stopped);
  checkJournal(dir, facts);
}

/**
 * Runs `check` in a folder of the case's own files (by default its manifest and the job
 * script; a variant's own, and what else tells the case apart, in `variant`), removed
 * when it passes and named when it fails.
 */
export async function inCaseDir(
  s: Scenario,
  seed: number,
  check: (dir: string) => Promise<void>,
  variant: { files?: Record<string, string>; how?: string } = {},
): Promise<void> {
  const dir = tempDir('jobrun-prop-');
  const files = variant.files ?? { 'm.yaml': manifestOf(s), 'job.sh': JOB_SCRIPT };
  writeFiles(dir, files);
  try {
    await check(dir);
  } catch (err) {
    const e = err as Error;
    const how = `ending ${JSON.stringify(s.ending)}, --output ${s.output}, --spawner ${s.spawner}${variant.how ?? ''}`;
    e.message += `\n\nJOBRUN_PROP_SEED=${seed}; its files: ${dir}; ${how}\n${files['m.yaml']}`;
    throw e;
  }
  logCase(dir, s);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** With `JOBRUN_PROP_LOG=FILE`, one line per case: its ending and what each run reported. */
function logCase(dir: string, s: Scenario): void {
  const log = process.env.JOBRUN_PROP_LOG;
  if (!log) return;
  const runs = fs
    .readdirSync(dir)
    .filter((f) => /^report-\d+\.json$/.test(f))
    .map((f) => {
      const r = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as Report;
      return {
        run: f,
        exitCode: r.exitCode,
        interrupted: r.interrupted,
        halted: r.halted,
        ...r.summary,
      };
    });
  fs.appendFileSync(log, JSON.stringify({ ending: s.ending.kind, runs }) + '\n');
}

/**
 * The exit as jobrun meant it. A signal that comes once the run is over, as Node tears
 * the process down (its handlers gone, a few ms), kills it by default: no program can
 * catch it. Told apart by what jobrun had done: a whole report of a run that was not
 * interrupted, and its journal's lock released. Then the exit is the report's. So too
 * for a kill -9 that came once the report was out (a run shorter than the test's
 * delay): the report was renamed into place whole, and the lock may be left (nothing
 * runs after kill -9; the next run takes a dead holder's lock).
 */
export function tornDown(dir: string, s: Scenario, run: number, exit: Exit): Exit {
  const killed = s.ending.kind === 'kill9' && exit.signal === 'SIGKILL';
  if (!killed && (s.ending.kind !== 'signal' || exit.signal !== s.ending.signal)) return exit;
  const file = path.join(dir, `report-${run}.json`);
  if (!fs.existsSync(file)) return exit;
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  if (report.interrupted !== undefined) return exit;
  if (killed) return { ...exit, signal: null, code: report.exitCode };
  const journal = path.join(dir, '.jobrun', 'journal');
  const locks = fs.existsSync(journal)
    ? fs.readdirSync(journal).filter((f) => f.endsWith('.lock'))
    : [];
  expect(locks, `killed by ${exit.signal} before the run let go of its journal`).toEqual([]);
  return { ...exit, signal: null, code: report.exitCode };
}

/** Checks run `run`, which ended by itself, by a halt or by a signal. */
export async function checkEnded(
  dir: string,
  s: Scenario,
  run: number,
  exit: Exit,
  slots = s.workers,
  local = true,
): Promise<void> {
  const reported = fs.existsSync(path.join(dir, `report-${run}.json`));
  if (s.ending.kind === 'signal' && exit.signal === s.ending.signal && !reported) {
    // a signal before jobrun set its handlers (Node still starting) ends it by default:
    // acceptable only while nothing ran
    const markers = [...readMarkers(dir, run).values()];
    expect(markers, `no report, but jobs ran\n${exit.stderr}`).toEqual([]);
    await checkNothingAfter(dir, [{ exit, markers }], exit);
    return;
  }
  const facts = await readFacts(dir, run, tornDown(dir, s, run, exit));
  const stopped = !toItsEnd(s.ending) && s.ending.kind !== 'kill9';
  checkRecords(s, facts, stopped, slots, local);
  if (local) checkLeftBehind(dir, s, facts, stopped);
  await checkNothingAfter(dir, [facts], exit);
}
