import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { shellQuote } from '../manifest/quote.js';
import { endedWell, type JobSpec, type Plan, type StageSpec } from '../model/job.js';
import { DEFAULT_CAPTURE_BYTES, resultItems, type EarlierSuccess } from '../model/result.js';
import type { RunOptions } from './flags/run-options.js';
import { fromReport, readReport, type ReportShape, type RetryJob } from './retry-report.js';
import { rawArgs } from './raw-argv.js';
import { runJobs } from './run.js';
import { resumeCommand } from './running-graces.js';

/** The statuses a re-drive picks up: failed for good, or never ran because a need failed. */
const REDRIVE = new Set(['failed', 'timed_out', 'skipped']);

/**
 * `jobrun retry report.json`: the dead-letter re-drive. Re-runs the jobs that
 * failed, timed out, or were skipped because a need failed, with their settings
 * from the manifest when it is still there (else from the report). Needs that
 * succeeded in the earlier run count as met, and the results a re-driven job reads of
 * them come from the report (`earlierSources`); a job whose need was cancelled there is
 * skipped again (`heldBack`). A stage's job runs its reported command with its stage's
 * settings; a stage that never expanded expands in the re-drive.
 */
export async function retryCommand(
  reportPath: string,
  options: RunOptions,
  cwd?: string,
): Promise<number> {
  const report = await readReport(reportPath);
  const wanted = report.jobs.filter((j) => REDRIVE.has(j.status) && !j.excluded);
  if (wanted.length === 0) {
    process.stderr.write(`jobrun: nothing to retry: ${nothingLeft(report, reportPath)}\n`);
    return 0;
  }
  const names = new Set(wanted.map((j) => j.name));
  let jobs: JobSpec[];
  let settings: Plan | undefined;
  /** The stages that expanded in that run, with their jobs there (`ranStages`). */
  let ran: Map<string, string[]>;
  if (report.manifest && report.manifest !== '-' && fs.existsSync(report.manifest)) {
    const { loadManifest } = await import('../manifest/load.js');
    // a job's folder may be gone: placeJobs says so, naming the job, or --cwd moves it
    settings = await loadManifest(report.manifest, { checkCwd: false });
    const plan = settings;
    jobs = plan.jobs.filter((j) => names.has(j.name));
    const known = new Set(jobs.map((j) => j.name));
    const rest = wanted.filter((j) => !known.has(j.name));
    ran = ranStages(
      report.jobs,
      (plan.stages ?? []).map((s) => s.name),
    );
    const { stages, held } = retriedStages(rest, plan, known, report.jobs, ran);
    jobs.push(...held, ...stageJobs(rest, plan));
    settings = { ...plan, stages };
  } else {
    jobs = wanted.map((j, index) => fromReport(j, index));
    refuseTemplates(wanted);
    // without the manifest, the report's stage jobs are all there is to go by
    ran = ranStages(
      report.jobs,
      report.jobs.flatMap((j) => (j.stage === undefined ? [] : [j.stage])),
    );
  }
  const earlier = earlierSources(report.jobs, placeJobs(jobs, cwd), settings, ran);
  jobs = [...earlier.jobs, ...earlier.readers];
  const picked = new Set([
    ...jobs.map((j) => j.name),
    ...(settings?.stages ?? []).map((s) => s.name),
  ]);
  const members = stageMembers(jobs);
  const held = heldBack(report.jobs, picked, [
    ...jobs.filter((j) => !earlier.done.has(j.name)),
    ...(settings?.stages ?? []).map((s) => ({ name: s.name, needs: [s.from, ...s.needs] })),
  ]);
  jobs = jobs.map((job, index) => ({
    ...job,
    index,
    // a need on a stage that is not run again waits on its retried jobs
    needs: job.needs.flatMap((n) => (picked.has(n) ? [n] : (members.get(n) ?? []))),
  }));
  const identity = `retry:${path.resolve(reportPath)}`;
  // the jobs it leaves out are named, or the retry's report would be all there seems to be
  const left = cancelledLeft(report, reportPath);
  if (left) process.stderr.write(`jobrun: ${left}\n`);
  return runJobs(
    {
      settings: settings ?? { manifestPath: report.manifest ?? null, pools: {}, order: 'fifo' },
      jobs,
      identity,
      adHoc: false,
      earlier: {
        done: (job) => earlier.done.get(job.name) ?? false,
        stages: earlier.stages,
        held: (job) => held.get(job.name),
      },
    },
    options,
    // a retry stopped part way is run again with --resume, which skips what it finished
    // (its journal's); the run's own --resume would run those again
    resumeCommand(rawArgs(process.argv.slice(2))),
  );
}

/**
 * Why a report has nothing to re-drive: every job that ran succeeded (the jobs `--only`
 * left out are counted: a retry does not run them), or those left were cancelled.
 */
function nothingLeft(report: ReportShape, reportPath: string): string {
  const left = cancelledLeft(report, reportPath);
  if (left) return `no job failed; ${left}`;
  const out = report.jobs.filter((j) => j.excluded).length;
  if (out === 0) return `every job in ${reportPath} succeeded`;
  return (
    `every job in ${reportPath} that ran succeeded; ${out} ${out === 1 ? 'was' : 'were'} left ` +
    'out by --only, which a retry does not run'
  );
}

/**
 * The report's jobs that were cancelled (a stop, `jobrun cancel`, a drain), which a
 * retry does not run again, and how to run them: `--resume` of the run the report is of
 * (a retry's report names the retry's own), which runs all that did not succeed.
 * Undefined when none was.
 */
function cancelledLeft(report: ReportShape, reportPath: string): string | undefined {
  const cancelled = report.jobs.filter((j) => j.status === 'cancelled' && !j.excluded);
  if (cancelled.length === 0) return undefined;
  const count = cancelled.length;
  const shown = cancelled.slice(0, 3).map((j) => JSON.stringify(j.name));
  const names = count > shown.length ? `${shown.join(', ')}, …` : shown.join(', ');
  const again =
    report.resume ??
    (report.manifest && report.manifest !== '-'
      ? `jobrun run ${shellQuote(report.manifest)} --resume`
      : 'the same jobrun run command with --resume');
  return (
    `${count} job${count === 1 ? '' : 's'} in ${reportPath} ${count === 1 ? 'was' : 'were'} ` +
    `cancelled (${names}), and a retry does not run cancelled jobs again; to run ${count === 1 ? 'it' : 'them'}: ${again}`
  );
}

/**
 * The re-driven jobs (and stages) that cannot run: a need (a job, or a job of a stage)
 * ended otherwise than well in that run and does not run again (it was cancelled). Each
 * is skipped again, naming that need and its state, as in that run: run as if the need
 * had succeeded, it would do its work without what it needs.
 */
function heldBack(
  reported: RetryJob[],
  picked: ReadonlySet<string>,
  jobs: ReadonlyArray<{ name: string; needs: readonly string[] }>,
): Map<string, string> {
  const byName = new Map(reported.map((j) => [j.name, j]));
  const unmet = (need: string) => {
    const own = byName.get(need);
    const ended = own ? [own] : reported.filter((j) => j.stage === need && j.name !== need);
    return ended.find((j) => !picked.has(j.name) && !endedWell(j.status));
  };
  const held = new Map<string, string>();
  for (const job of jobs) {
    const need = job.needs.map(unmet).find((j) => j !== undefined);
    if (need === undefined) continue;
    const verb = need.status === 'timed_out' ? 'timed out' : need.status;
    held.set(job.name, `need "${need.name}" ${verb} in the run it retries`);
  }
  return held;
}

/**
 * Where re-driven jobs run: in `cwd` when given (`--cwd`), else in their own folders,
 * which must still be there. A job whose folder is gone is refused (exit 2) rather than
 * run somewhere else: `rm -f data.db; exit 1` run again from another folder deletes
 * that folder's file.
 */
function placeJobs(jobs: JobSpec[], cwd: string | undefined): JobSpec[] {
  if (cwd !== undefined) {
    const dir = path.resolve(cwd);
    if (!isFolder(dir)) throw new UsageError(`--cwd ${cwd}: not a folder`);
    return jobs.map((job) => ({ ...job, cwd: dir }));
  }
  const lost = jobs.find((job) => !isFolder(job.cwd));
  if (lost !== undefined) {
    const where =
      lost.cwd === '' ? 'the report does not say where it ran' : `its folder ${lost.cwd} is gone`;
    throw new UsageError(
      `cannot retry job "${lost.name}": ${where}; to run it elsewhere, say where with --cwd DIR`,
    );
  }
  return jobs;
}

function isFolder(dir: string): boolean {
  try {
    return dir !== '' && fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The stages a re-drive expands: those reported under their name template (they never
 * expanded) whose source runs again, succeeded there (its reported result gives the
 * items), or is a stage that expanded there (its jobs' results do). One whose source
 * was cancelled is `held`: a stand-in under its name template, skipped again without
 * running (see `heldBack`). Any other such stage cannot be rebuilt: an error naming it.
 */
function retriedStages(
  rest: RetryJob[],
  plan: Plan,
  picked: Set<string>,
  reported: RetryJob[],
  ran: ReadonlyMap<string, string[]>,
): { stages: StageSpec[]; held: JobSpec[] } {
  const stages: StageSpec[] = [];
  const held: JobSpec[] = [];
  const ended = new Map(reported.map((j) => [j.name, j]));
  // a source job that succeeded, or a stage that expanded, joins the re-drive with the
  // results the report kept (earlierSources)
  const succeeded = new Map(reported.flatMap((j) => (endedWell(j.status) ? [[j.name, j]] : [])));
  // in manifest order, so a stage of a stage follows its source
  for (const stage of plan.stages ?? []) {
    if (!rest.some((j) => j.name === stage.name)) continue;
    const source = succeeded.get(stage.from);
    const known = picked.has(stage.from) || ran.has(stage.from) || source !== undefined;
    if (!known && ended.has(stage.from)) {
      // its source ended otherwise (cancelled) and does not run again: the stage is
      // skipped again, under its name template (see heldBack)
      held.push({
        ...stage.settings,
        name: stage.name,
        command: stage.run,
        stage: stage.name,
        index: 0,
        needs: [stage.from],
      });
      picked.add(stage.name);
      continue;
    }
    if (!known) {
      throw new UsageError(
        `cannot retry "${stage.name}": its jobs were never known, and its source "${stage.from}" ` +
          `is not retried; run the manifest again (\`jobrun run ${plan.manifestPath} --resume\` ` +
          'runs only what did not succeed)',
      );
    }
    if (source !== undefined && resultItems(source.result ?? undefined) === undefined) {
      // it would be skipped again for the same reason
      throw new UsageError(
        `cannot retry "${stage.name}": its source "${stage.from}" succeeded without a list of ` +
          'items (capture lines, or a JSON array) and is not retried; run the manifest again',
      );
    }
    stages.push(stage);
    picked.add(stage.name);
  }
  for (const job of rest) {
    const expanded = job.stage !== undefined && job.stage !== job.name;
    if (expanded || picked.has(job.name)) continue;
    throw new UsageError(
      `cannot retry "${job.name}": no job or stage of that name in ${plan.manifestPath}`,
    );
  }
  return { stages, held };
}

/** Jobs of a stage that did expand: the command is the report's, the settings the stage's. */
function stageJobs(rest: RetryJob[], plan: Plan): JobSpec[] {
  const byName = new Map((plan.stages ?? []).map((s) => [s.name, s]));
  return rest.flatMap((job, i) => {
    if (job.stage === undefined || job.stage === job.name) return [];
    const stage = byName.get(job.stage);
    if (!stage) {
      throw new UsageError(
        `cannot retry "${job.name}": its stage "${job.stage}" is no longer in ${plan.manifestPath}`,
      );
    }
    return [
      {
        ...stage.settings,
        ...filledIn(job, stage),
        name: job.name,
        command: job.command,
        stage: stage.name,
        index: i,
        needs: job.needs ?? [],
      },
    ];
  });
}

/**
 * What a stage job's item filled in (`priority: "{prio}"`): the report's priority and
 * pool. A job refused for a bad value is refused again rather than run with a default,
 * and a timeout from an item is not in the report: both are errors naming the job.
 */
function filledIn(job: RetryJob, stage: StageSpec): Partial<JobSpec> {
  if (stage.perItem === undefined) return {};
  if (job.status === 'failed' && job.reason !== undefined)
    throw new UsageError(`cannot retry "${job.name}": it never ran: ${job.reason}`);
  const { timeout } = stage.perItem;
  if (timeout !== undefined) {
    throw new UsageError(
      `cannot retry "${job.name}": its timeout ${JSON.stringify(timeout)} came from its item, which the report does not keep`,
    );
  }
  const pool = job.pool ?? stage.settings.pool;
  return { priority: job.priority ?? stage.settings.priority, ...(pool !== undefined && { pool }) };
}

/** The retried jobs of each stage that did expand, by the stage's name template. */
function stageMembers(jobs: JobSpec[]): Map<string, string[]> {
  const members = new Map<string, string[]>();
  for (const { stage, name } of jobs) {
    if (stage !== undefined && stage !== name)
      members.set(stage, [...(members.get(stage) ?? []), name]);
  }
  return members;
}

/** What the re-drive runs, and what it reads of the run it re-drives (see `earlierSources`). */
interface Redrive {
  /** Re-driven jobs, each `stdin: { from }` naming jobs (a stage's of that run by name). */
  readers: JobSpec[];
  /** Jobs that succeeded in that run and are read: they end at once as done. */
  jobs: JobSpec[];
  done: Map<string, EarlierSuccess>;
  /** Stages that expanded in that run that a stage expanding again reads or needs: their jobs. */
  stages: Map<string, string[]>;
}

/**
 * The jobs that succeeded in the reported run and whose results a re-driven job reads
 * (a fan-in's sources, the source of a stage that expands again): they join the
 * re-drive as done, with the results the report kept, as `--resume` does with the
 * journal's. Without them a fan-in would read nothing of them, and such a stage could
 * not expand. A stage that does not expand again stands for its jobs of that run.
 */
function earlierSources(
  reported: RetryJob[],
  jobs: JobSpec[],
  plan: Plan | undefined,
  ran: ReadonlyMap<string, string[]>,
): Redrive {
  const byName = new Map(reported.map((j) => [j.name, j]));
  const redriven = new Set([
    ...jobs.map((j) => j.name),
    ...(plan?.stages ?? []).map((s) => s.name),
  ]);
  const earlier: Redrive = { readers: [], jobs: [], done: new Map(), stages: new Map() };
  // its jobs of that run that the re-drive knows: run again, or read as they succeeded
  const expanded = (name: string) => !redriven.has(name) && ran.has(name);
  const resolve = (name: string) =>
    expanded(name)
      ? (ran.get(name) ?? []).filter((n) => redriven.has(n) || endedWell(byName.get(n)!.status))
      : [name];
  const readers = jobs.map((job) =>
    job.stdinFrom ? { ...job, stdinFrom: job.stdinFrom.flatMap(resolve) } : job,
  );
  /** source → the first re-driven job or stage that reads it */
  const read = new Map<string, string>();
  for (const job of readers) for (const name of job.stdinFrom ?? []) read.set(name, job.name);
  // a source run again captures its stdout as the manifest's would (lines, unless it said
  // otherwise), also when only the report is left to say what it is
  earlier.readers = readers.map((job) =>
    read.has(job.name) && job.capture === undefined
      ? { ...job, capture: { mode: 'lines', maxBytes: DEFAULT_CAPTURE_BYTES } }
      : job,
  );
  // a stage that expands again reads its source, and its jobs need what it needs: jobs
  // of that run that succeeded join as done, so its jobs find them (a stage that does
  // not expand again by its jobs)
  const needed = new Set<string>();
  for (const stage of plan?.stages ?? []) {
    for (const name of [stage.from, ...stage.needs]) {
      const members = resolve(name);
      if (expanded(name)) earlier.stages.set(name, members);
      for (const job of members)
        if (name !== stage.from) needed.add(job);
        else if (!read.has(job)) read.set(job, stage.name);
    }
  }
  const planned = new Map(plan?.jobs.map((j) => [j.name, j]));
  for (const name of new Set([...read.keys(), ...needed])) {
    const job = byName.get(name);
    // one that did not succeed: nothing of it to read, as in any run
    if (redriven.has(name) || job === undefined || !endedWell(job.status)) continue;
    const reader = read.get(name);
    if (job.resultTruncated && reader !== undefined) {
      throw new UsageError(
        `cannot retry "${reader}": the report keeps only the start of the result of "${name}", ` +
          'which it reads (capture_max); run the manifest again with --resume',
      );
    }
    earlier.jobs.push({ ...(planned.get(name) ?? fromReport(job, 0)), needs: [] });
    earlier.done.set(
      name,
      job.result === null || job.result === undefined ? {} : { result: job.result },
    );
  }
  return earlier;
}

/**
 * The stages among `names` that expanded in the reported run, each with its jobs there
 * (in job order, maybe none): a stage that never expanded has a record under its name.
 */
function ranStages(reported: RetryJob[], names: string[]): Map<string, string[]> {
  const ran = new Map<string, string[]>();
  const templates = new Set(reported.map((j) => j.name));
  for (const name of names) if (!templates.has(name)) ran.set(name, []);
  for (const j of reported) if (j.stage !== undefined) ran.get(j.stage)?.push(j.name);
  return ran;
}

/** Without the manifest a stage that never expanded has no jobs to run: an error naming it. */
function refuseTemplates(wanted: RetryJob[]): void {
  const template = wanted.find((j) => j.stage === j.name);
  if (template) {
    throw new UsageError(
      `cannot retry "${template.name}": a stage whose jobs were never known, and the manifest is gone`,
    );
  }
}
