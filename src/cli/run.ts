import os from 'node:os';
import path from 'node:path';
import { createStartGate } from '../core/gates.js';
import { journalPathFor, openJournal } from '../core/journal.js';
import { compactJournal } from '../core/journal-compact.js';
import type { JobSpec, WorkersSpec } from '../model/job.js';
import type { RunEventMap, Summary } from '../model/events.js';
import { UsageError } from '../errors.js';
import { spawnersGone, stopLeftoverGroups } from '../exec/leftovers.js';
import type { Journal } from '../core/journal.js';
import type { StopSignal } from '../model/stop.js';
import { settleReport } from './settle-report.js';
import {
  endNow,
  handleStops,
  onExit,
  outputWriteError,
  pipeBroke,
  reraiseOnExit,
} from './shutdown.js';
import { heldStop } from './early-stops.js';
import { spawnerFallbackNotice } from './notices.js';
import { openBackend } from '../backends/open.js';
import { RunOperations } from './operate/attach-run.js';
import { EventBus } from '../reporters/bus.js';
import { JoblogReporter } from '../reporters/joblog.js';
import { OutputLostError } from '../reporters/lost-logs.js';
import { OutputPressure } from '../reporters/output-pressure.js';
import { pickReporters } from '../reporters/pick.js';
import { stagePlan } from '../manifest/stages.js';
import { printPlan } from './dry-run.js';
import type { RunCache } from './cache-setup.js';
import type { RunOptions } from './flags/run-options.js';
import { checkOutputFiles, makeLogDir, makeResultsDir } from './output-paths.js';
import { refuseUnstartable } from './input-checks.js';
import { claimFolder, lockLogFolder } from './live-runs.js';
import { rawArgs } from './raw-argv.js';
import { pruneRuns } from './retention.js';
import { longestGrace, resumeCommand } from './running-graces.js';
import {
  applyOverrides,
  mapJobs,
  noOverrides,
  openSource,
  overriddenStage,
  selectJobs,
  type JobSource,
} from './job-source.js';

/** Where jobrun keeps its logs and journals, relative to the current folder. */
export const STATE_DIR = '.jobrun';

/** How long the run's files may still take after a second signal once the jobs ended. */
const FILES_AFTER_STOP_MS = 2000;

/** `jobrun run`: returns the exit code; the caller sets it. */
export async function runCommand(
  manifest: string | undefined,
  command: string[],
  options: RunOptions,
): Promise<number> {
  const source = await openSource(manifest, command, options.source);
  if (source.empty !== undefined && !wantsDocuments(options)) {
    // like `xargs -r` and GNU parallel: an empty folder is not an error (cron jobs over one)
    process.stderr.write(`jobrun: nothing to do: ${source.empty}\n`);
    return 0;
  }
  return runJobs(source, options, resumeCommand(rawArgs(process.argv.slice(2))));
}

/** Whether the run was asked for a report or stream that must exist even when empty. */
function wantsDocuments({ output, joblog }: RunOptions): boolean {
  return Boolean(
    output.json || output.events || output.report || output.junit || output.html || joblog,
  );
}

/**
 * Runs the jobs of `source` under the run's options and returns the exit code.
 * `resume`: the command line that resumes this run, shown when it is interrupted.
 */
export async function runJobs(
  source: JobSource,
  options: RunOptions,
  resume?: string,
): Promise<number> {
  const { overrides, output } = options;
  // no gate unless a flag asks for one: a gate spaces starts, so it turns off queueing ahead
  const { delayMs, maxLoad, minFreeMemBytes } = options.gate;
  const gated = delayMs !== undefined || maxLoad !== undefined || minFreeMemBytes !== undefined;
  const gate = gated ? createStartGate(options.gate) : undefined;
  const settings = source.settings;
  // a pipeline's stages expand as their sources end
  const stages = settings.stages?.length ? settings.stages : undefined;
  const jobs = noOverrides(overrides)
    ? source.jobs
    : mapJobs(source.jobs, (job) => applyOverrides(job, overrides));
  let selected: Set<string> | undefined;
  if (options.only?.length) {
    if (stages) throw new UsageError('--only does not work with stages (for_each: { from })');
    if (!Array.isArray(jobs))
      throw new UsageError(
        '--only works with a manifest, --glob or ::: values, not with streamed input (--stdin, :::: files)',
      );
    selected = selectJobs(jobs, options.only);
  }
  if (Array.isArray(jobs)) refuseUnstartable(jobs);
  const remote = options.backend.kind === 'redis';
  const limit = options.workers ?? settings.workers;
  const cpus = os.availableParallelism();
  const workers = remote ? redisLimit(limit) : (limit ?? { min: cpus, max: cpus });
  const runOrder = options.order ?? settings.order;

  if (options.dryRun) {
    await printPlan(jobs, {
      stages: settings.stages,
      pools: settings.pools,
      order: runOrder,
      selected,
      json: output.json ?? false,
    });
    return 0;
  }

  // loaded only when a job may use the cache: hashing is no run's start-up cost
  const anyCached =
    options.cache.use === 'all' ||
    settings.stages?.some((s) => s.settings.cache !== undefined) ||
    (Array.isArray(source.jobs) && source.jobs.some((j) => j.cache !== undefined));
  // on Redis, the worker that takes a job looks it up in its own cache (`worker --cache-dir`)
  const runCache: RunCache = anyCached
    ? (await import('./cache-setup.js')).openRunCache(
        jobs,
        settings,
        options.cache,
        { fromGlob: options.source.glob !== undefined, remote },
        warn,
      )
    : { jobs, finish: async () => {} };

  checkOutputFiles({
    '--report': output.report,
    '--junit': output.junit,
    '--html': output.html,
    '--joblog': options.joblog,
  });
  if (output.results) makeResultsDir(output.results);
  const backend = await openBackend(options.backend, options.spawner, {
    unreachableLimitMs: options.redisTimeoutMs,
    unservedNoticeMs: options.unservedNoticeMs,
    onSpawnerFallback: (why) => warn(spawnerFallbackNotice(why)),
  });
  // a reader of jobrun's output that falls behind holds the jobs back (bounded memory)
  const pressure = new OutputPressure([process.stdout, process.stderr]);
  const reporters = pickReporters(output, {
    adHoc: source.adHoc,
    manifestOutput: settings.output,
    resumeCommand: resume,
    killGraceMs: longestGrace(jobs),
    pressure,
  });
  if (options.joblog) reporters.push(new JoblogReporter(options.joblog));
  const operations = new RunOperations(
    {
      hooks: {
        alerts: { ...settings.hooks?.alerts, ...options.alerts },
        onEnd: options.onEnd ?? settings.hooks?.onEnd,
      },
      metrics: options.metrics,
      report: output.report,
      warn,
    },
    () => bus.emit,
  );
  reporters.push(...operations.reporters);
  const keep = options.keepLogs;
  const runId = newRunId();
  const logDir = path.resolve(options.logs ?? path.join(STATE_DIR, 'logs', runId));
  makeLogDir(logDir, options.logs === undefined);
  // jobrun's own run folder says who owns it: retention and clean leave it alone meanwhile;
  // a folder the user named is locked, so two runs at once never write the same log
  const releaseFolder =
    options.logs === undefined
      ? claimFolder(logDir)
      : lockLogFolder(logDir, `--logs ${options.logs}`);
  const unclaimOnExit = onExit(releaseFolder);
  // only jobrun's own folder is pruned: a --logs folder is the user's to manage
  if (options.logs === undefined && keep !== 'all')
    pruneRuns(path.resolve(STATE_DIR, 'logs'), keep, logDir);
  const journal = openJournal(
    journalPathFor(STATE_DIR, source.identity),
    options.resume,
    settings.manifestPath ?? 'these jobs',
  );
  const releaseJournal = onExit(() => journal.close());
  journal.onError = (err) =>
    warn(
      `${err.message}; the run goes on, but --resume will not know of jobs that end from now on`,
    );
  if (options.resume) await stopLeftovers(journal, jobs);
  // a job done earlier (by the journal, or a re-drive's source) ends at once; a cached
  // one skipped so still has a key, made as it ends (see `Admission`)
  const done = (job: JobSpec) =>
    source.earlier?.done(job) || (options.resume && journal.succeeded(job));
  const bus = new EventBus(reporters, Date.now, resume);
  const scheduler = backend.createRun({
    identity: source.identity,
    cacheExplain: runCache.explain,
    resume: options.resume,
    runId,
    manifestPath: settings.manifestPath,
    logDir,
    workers,
    pools: settings.pools,
    order: runOrder,
    emit: (type, payload) => {
      // said started only once its journal line is safe from a kill -9 (see `Journal`)
      if (type === 'job_start') journal.flush();
      bus.emit(type, payload);
      if (type !== 'job_end') return;
      const { job } = payload as RunEventMap['job_end'];
      journal.record(job);
    },
    halt: options.halt,
    gate,
    backpressure: pressure,
    // the journal keeps each success's result: a resumed stage gets the same items
    alreadyDone: options.resume || source.earlier ? done : undefined,
    stages:
      stages &&
      stagePlan(
        stages.map((s) => overriddenStage(s, overrides)),
        Object.keys(settings.pools),
        source.earlier?.stages,
      ),
    onAttemptStart: (job, pid, start) => journal.started(job, pid, start),
    onSpawner: (pid, start) => journal.spawner(pid, start),
    selected: selected ? (job: JobSpec) => selected.has(job.name) : undefined,
    held: source.earlier?.held,
    captureOutput: bus.wantsOutput,
    separateStreams: bus.wantsStreams,
    remoteStreams: bus.wantsRemoteStreams,
    maxQueue: options.maxQueue,
    gracefulMs: options.gracefulMs,
    cache: runCache.hook,
  });
  const viaRedis = options.backend.kind === 'redis' ? options.backend.target : undefined;
  await operations.open(
    runId,
    describeRun(settings.manifestPath),
    () => scheduler.controls,
    viaRedis,
  );
  const unregister = onExit(() => operations.removeEntry());

  // a reporter that throws is jobrun's bug: stop the run cleanly (outside the emit)
  bus.onFailure = (err) =>
    setImmediate(() => scheduler.abort(`stopped: a reporter failed (${err.message})`));
  /** Set once the report is written: the exit code it states. */
  let settled: number | undefined;
  /** A second signal after the jobs ended, when the files took too long: as the report says if out. */
  const endAfterFiles = (signal: StopSignal) =>
    settled === undefined ? endNow(signal) : process.exit(settled);
  let stops = 0;
  /** Every job ended: what is left is writing the run's files. */
  let jobsEnded = false;
  /** Signals since the jobs ended. */
  let stopsAfter = 0;
  const stop = (signal: StopSignal) => {
    // a file that never finishes (a --junit FIFO nobody reads, a hung disk) must not keep
    // jobrun from a second signal; the final line is out: nothing is said under it. Only
    // signals after the jobs ended count, and the files get a moment still: a double
    // Ctrl-C as the last job ends must not throw away a report that takes milliseconds
    if (jobsEnded) {
      if (stopsAfter++ === 1) setTimeout(() => endAfterFiles(signal), FILES_AFTER_STOP_MS).unref();
      return;
    }
    // said before the jobs are signalled: what stops, how long it may take, how to force it;
    // a first signal under --graceful lets jobs finish, which its run_stopping event says
    const forced = stops++ > 0;
    if (forced || !options.gracefulMs) {
      // the jobs handed out, heard to start or not (a spawner tells it late), and the
      // graces of those and of the jobs queued behind them; else the plan's longest
      const out = scheduler.handedOut?.();
      const graceMs = out?.graceMs ?? longestGrace(jobs);
      bus.stopping({ signal, graceMs, forced, ...(out && { handed: out.jobs }) });
    }
    scheduler.interrupt(signal);
  };
  // a signal that came while the run was set up: it starts paused, so no job starts, and
  // stops once its jobs are in, each cancelled in its reports
  const early = heldStop();
  if (early !== undefined) scheduler.controls?.pause();
  const stopHandling = handleStops(stop);
  // jobrun exiting before the run ended would leave jobs with no final state: never exit 0
  const unended = onExit(() => {
    process.exitCode = 70;
    warn('exited before every job of the run ended (this is a bug in jobrun; exit 70)');
  });
  let completed = false;
  let exitCode = 70;
  let summary: Summary | undefined;
  try {
    const running = scheduler.run(runCache.jobs);
    if (early !== undefined) stop(early);
    const outcome = await running;
    jobsEnded = true;
    unended();
    summary = outcome.summary;
    completed = !outcome.interrupted;
    await runCache.finish();
    const ended = await bus.flush();
    // output jobrun could not show is an output error, as one it could not write
    const lost = ended.find((err) => err instanceof OutputLostError);
    const unwritten = ended.filter((err) => !(err instanceof OutputLostError));
    if (outcome.inputError !== undefined)
      warn(`${outcome.inputError}; the run was stopped (exit 2)`);
    if (bus.failure !== undefined) {
      warn(
        `internal error in a reporter (this is a bug in jobrun; please report it with the command you ran): ` +
          `${bus.failure.stack ?? bus.failure.message}\njobrun: the run was stopped and its jobs with it (exit 70)`,
      );
      return 70;
    }
    let code = outcome.interrupted === undefined && pipeBroke() ? 141 : outcome.exitCode;
    if (unwritten.length > 0) {
      code = code === 0 ? 1 : code;
      for (const err of unwritten) warn(`the run ended, but ${err.message} (exit ${code})`);
    }
    const writeError = outputWriteError() ?? lost?.message;
    if (writeError !== undefined) {
      code = code === 0 ? 1 : code;
      warn(`the run ended, but ${writeError} (exit ${code})`);
    }
    // the report says how the process ends, also when that was settled after it was written
    if (output.report !== undefined && (code !== outcome.exitCode || writeError !== undefined))
      await settleReport(output.report, code, writeError);
    if (outcome.interrupted !== undefined) reraiseOnExit(outcome.interrupted);
    exitCode = settled = code;
    return code;
  } finally {
    unended();
    jobsEnded = true; // also when the run threw: a signal now only hurries the files
    await operations.close(exitCode, summary);
    unregister();
    // a run that ran to its end leaves only what --resume needs: one line per success
    // (before the lock goes with close, so no other run sees it half rewritten)
    journal.flush();
    if (completed && journal.error === undefined) {
      try {
        compactJournal(journal.path);
      } catch {
        // compaction only saves space; the full journal serves --resume as well
      }
    }
    journal.close();
    releaseJournal();
    releaseFolder();
    unclaimOnExit();
    bus.dispose();
    await backend.close();
    if (options.source.stdin) process.stdin.destroy();
    // the signals stay handled to the end: the run's code stands once its report is out
    stopHandling(settled);
  }
}

/**
 * On Redis the workers' slots hold the jobs, not this machine's CPUs: an explicit `-j N`
 * (or the manifest's `workers:`) is the run's limit across every worker, `{0, 0}` none.
 * A range's max is the limit (a Redis run does not scale with its queue; `jobrun scale
 * -j` changes it live).
 */
function redisLimit(limit: WorkersSpec | undefined): WorkersSpec {
  const max = limit?.max ?? 0;
  return { min: max, max };
}

/** What `jobrun ps` shows a run as: its manifest, else how jobrun was started. */
function describeRun(manifestPath: string | null | undefined): string {
  return manifestPath ?? `jobrun ${process.argv.slice(2).join(' ')}`;
}

/** For people, on stderr; a broken stderr must not turn into a crash. */
function warn(message: string): void {
  process.stderr.write(`jobrun: ${message}\n`);
}

/**
 * `--resume` after jobrun died (kill -9, a crash): jobs the journal saw start and
 * never end may still be running, as orphans. Their groups are stopped (TERM, KILL
 * after the longest kill grace) before anything starts, and its spawners, which stop
 * its jobs as they see it gone, are waited for, so a job never runs twice at once; they
 * then run again, as their outcome is unknown.
 */
async function stopLeftovers(
  journal: Journal,
  jobs: JobSpec[] | AsyncIterable<JobSpec>,
): Promise<void> {
  if (journal.unfinished.length === 0 && journal.spawners.length === 0) return;
  const grace = longestGrace(jobs);
  // its spawners stop the jobs it left, also those it never heard start: wait for them
  const [{ stopped, unsure }, stopping] = await Promise.all([
    stopLeftoverGroups(journal.unfinished, grace),
    spawnersGone(journal.spawners, grace),
  ]);
  if (stopping.length > 0) {
    warn(
      `the job spawners ${stopping.join(', ')} of the interrupted run are still running: ` +
        `jobs they started may still be running too`,
    );
  }
  const count = (n: number) => `${n} job${n === 1 ? '' : 's'}`;
  if (stopped.length > 0) {
    warn(
      `stopped ${count(stopped.length)} still running from the interrupted run ` +
        `(process groups ${stopped.join(', ')}); they run again`,
    );
  }
  if (unsure.length > 0) {
    warn(
      `${count(unsure.length)} of the interrupted run may still be running, but jobrun cannot be sure ` +
        `the process groups ${unsure.join(', ')} are still theirs (their leaders are gone or their start ` +
        `times unknown), so it did not signal them; they run again: stop those groups yourself if they are leftovers`,
    );
  }
}

/** A run id that sorts by time and is unique enough to name a log folder. */
function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}
