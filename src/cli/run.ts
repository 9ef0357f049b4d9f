import path from 'node:path';
import { FAIL_FAST, parseHalt, type HaltPolicy } from '../core/halt.js';
import { createStartGate, type GateOptions } from '../core/gates.js';
import { journalPathFor, openJournal } from '../core/journal.js';
import { compactJournal } from '../core/journal-compact.js';
import type { JobSpec } from '../model/job.js';
import { CAPTURE_MODES, DEFAULT_CAPTURE_BYTES, type CaptureSpec } from '../model/result.js';
import type { RunEventMap } from '../model/events.js';
import { UsageError } from '../errors.js';
import { stopLeftoverGroups } from '../exec/leftovers.js';
import type { Journal } from '../core/journal.js';
import { handleStops, onExit, pipeBroke, reraiseOnExit } from './shutdown.js';
import { openBackend } from '../backends/open.js';
import { backendSpec } from './redis-url-source.js';
import { parseDuration, parseSize, parseTimeout } from '../manifest/duration.js';
import { EventBus } from '../reporters/bus.js';
import { JoblogReporter } from '../reporters/joblog.js';
import { pickReporters, type OutputFlags } from '../reporters/pick.js';
import { StageFeeder } from '../manifest/stages.js';
import { printPlan } from './dry-run.js';
import { checkOutputFiles, makeLogDir, makeResultsDir } from './output-paths.js';
import { keepRuns, pruneRuns } from './retention.js';
import type { InputFlags } from './input-flags.js';
import {
  applyOverrides,
  mapJobs,
  noOverrides,
  openSource,
  selectJobs,
  type JobOverrides,
  type JobSource,
} from './job-source.js';
import {
  defaultWorkers,
  parseBackoff,
  newRunId,
  oneOf,
  parseCount,
  parsePositive,
  parseSpawner,
  parseWorkers,
} from './options.js';

export interface RunFlags extends OutputFlags, InputFlags {
  workers?: string;
  timeout?: string;
  retries?: string;
  failFast?: boolean;
  halt?: string;
  resume?: boolean;
  logs?: string;
  only?: string[];
  order?: string;
  maxQueue?: string;
  maxLoad?: string;
  minFreeMem?: string;
  delay?: string;
  dryRun?: boolean;
  glob?: string;
  stdin?: boolean;
  shell?: string;
  /** `local` (default) or `redis://…`: run on `jobrun worker`s through BullMQ. */
  backend?: string;
  /** A file whose first line is the Redis URL: keeps the password out of argv. */
  redisUrlFile?: string;
  /** How long Redis may stay unreachable before the run is given up (default 30s). */
  redisTimeout?: string;
  /** `auto` (default), `helper` or `child`: how local jobs are started. */
  spawner?: string;
  joblog?: string;
  killGrace?: string;
  backoff?: string;
  /** `--capture stdout|json|lines` and its limit `--capture-max`. */
  capture?: string;
  captureMax?: string;
  /** How many runs' logs stay under `.jobrun/logs/` (default 10), or `all`. */
  keepLogs?: string;
}

/** Where jobrun keeps its logs and journals, relative to the current folder. */
export const STATE_DIR = '.jobrun';

/** `jobrun run`: returns the exit code; the caller sets it. */
export async function runCommand(
  manifest: string | undefined,
  command: string[],
  flags: RunFlags,
): Promise<number> {
  pickReporters(flags); // bad output flags are usage errors before the manifest is read
  return runJobs(await openSource(manifest, command, flags), flags);
}

/** Runs the jobs of `source` under the run flags and returns the exit code. */
export async function runJobs(source: JobSource, flags: RunFlags): Promise<number> {
  const overrides: JobOverrides = {
    timeout:
      flags.timeout === undefined
        ? undefined
        : usage(() => parseTimeout(flags.timeout!, '--timeout')),
    retries: flags.retries === undefined ? undefined : parseCount(flags.retries, '--retries'),
    killGraceMs:
      flags.killGrace === undefined
        ? undefined
        : usage(() => parseDuration(flags.killGrace!, '--kill-grace')),
    backoff: flags.backoff === undefined ? undefined : usage(() => parseBackoff(flags.backoff!)),
    capture: captureFlag(flags),
  };
  const halt = haltPolicy(flags);
  const order =
    flags.order === undefined
      ? undefined
      : oneOf(flags.order, '--order', ['fifo', 'lifo'] as const);
  const maxQueue =
    flags.maxQueue === undefined ? 10_000 : parseCount(flags.maxQueue, '--max-queue');
  if (maxQueue < 1) throw new UsageError('--max-queue must be at least 1');
  const gate = createStartGate(gateOptions(flags));
  const spawner = parseSpawner(flags.spawner);
  const workersFlag = flags.workers === undefined ? undefined : parseWorkers(flags.workers);
  const settings = source.settings;
  // a pipeline's later stages stream in as earlier jobs end
  const feeder =
    settings.stages?.length && Array.isArray(source.jobs)
      ? new StageFeeder({ ...settings, jobs: source.jobs })
      : undefined;
  const input = feeder ? feeder.jobs() : source.jobs;
  const jobs = noOverrides(overrides)
    ? input
    : mapJobs(input, (job) => applyOverrides(job, overrides));
  let selected: Set<string> | undefined;
  if (flags.only?.length) {
    if (feeder) throw new UsageError('--only does not work with stages (for_each: { from })');
    if (!Array.isArray(jobs))
      throw new UsageError('--only works with a manifest or --glob, not --stdin');
    selected = selectJobs(
      jobs,
      flags.only.flatMap((o) => o.split(',')),
    );
  }
  const workers = workersFlag ?? settings.workers ?? defaultWorkers();
  const runOrder = order ?? settings.order;

  if (flags.dryRun) {
    await printPlan(feeder ? (source.jobs as JobSpec[]) : jobs, {
      stages: settings.stages,
      pools: settings.pools,
      order: runOrder,
      selected,
      json: Boolean(flags.json),
    });
    return 0;
  }

  checkOutputFiles({
    '--report': flags.report,
    '--junit': flags.junit,
    '--html': flags.html,
    '--joblog': flags.joblog,
  });
  if (flags.results) makeResultsDir(flags.results);
  const backend = await openBackend(
    backendSpec(flags.backend, flags.redisUrlFile, (line) =>
      process.stderr.write(`jobrun: ${line}\n`),
    ),
    spawner,
    {
      unreachableLimitMs:
        flags.redisTimeout === undefined
          ? undefined
          : usage(() => parseDuration(flags.redisTimeout!, '--redis-timeout')),
    },
  );
  const reporters = pickReporters(flags);
  if (flags.joblog) reporters.push(new JoblogReporter(flags.joblog));
  const keep = keepRuns(flags.keepLogs, process.env);
  const runId = newRunId();
  if (flags.logs !== undefined && flags.logs.trim() === '')
    throw new UsageError('--logs needs a folder, e.g. --logs logs');
  const logDir = path.resolve(flags.logs ?? path.join(STATE_DIR, 'logs', runId));
  makeLogDir(logDir, flags.logs === undefined);
  // only jobrun's own folder is pruned: a --logs folder is the user's to manage
  if (flags.logs === undefined && keep !== 'all')
    pruneRuns(path.resolve(STATE_DIR, 'logs'), keep, logDir);
  const journal = openJournal(
    journalPathFor(STATE_DIR, source.identity),
    Boolean(flags.resume),
    settings.manifestPath ?? 'these jobs',
  );
  const releaseJournal = onExit(() => journal.close());
  journal.onError = (err) =>
    warn(
      `${err.message}; the run goes on, but --resume will not know of jobs that end from now on`,
    );
  if (flags.resume) await stopLeftovers(journal, jobs);
  const bus = new EventBus(reporters);
  const scheduler = backend.createRun({
    identity: source.identity,
    resume: Boolean(flags.resume),
    runId,
    manifestPath: settings.manifestPath,
    logDir,
    workers,
    pools: settings.pools,
    order: runOrder,
    emit: (type, payload) => {
      bus.emit(type, payload);
      if (type !== 'job_end') return;
      const { job } = payload as RunEventMap['job_end'];
      journal.record(job);
      feeder?.jobEnded(job);
    },
    halt,
    gate,
    // a stage needs its source's result, which the journal does not keep: it runs again
    alreadyDone: flags.resume
      ? (job: JobSpec) => !feeder?.sources.has(job.name) && journal.succeeded(job)
      : undefined,
    linkStreamed: feeder !== undefined,
    onAttemptStart: (job, pid) => journal.started(job, pid),
    selected: selected ? (job: JobSpec) => selected.has(job.name) : undefined,
    captureOutput: bus.wantsOutput,
    separateStreams: bus.wantsStreams,
    maxQueue,
  });

  // a reporter that throws is jobrun's bug: stop the run cleanly (outside the emit)
  bus.onFailure = (err) =>
    setImmediate(() => scheduler.abort(`stopped: a reporter failed (${err.message})`));
  const stopHandling = handleStops((signal) => scheduler.interrupt(signal));
  let completed = false;
  try {
    const outcome = await scheduler.run(jobs);
    completed = !outcome.interrupted;
    const unwritten = await bus.flush();
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
    if (outcome.interrupted !== undefined) reraiseOnExit(outcome.interrupted);
    return code;
  } finally {
    stopHandling();
    // a run that ran to its end leaves only what --resume needs: one line per success
    // (before the lock goes with close, so no other run sees it half rewritten)
    if (completed && journal.error === undefined) {
      try {
        compactJournal(journal.path);
      } catch {
        // compaction only saves space; the full journal serves --resume as well
      }
    }
    journal.close();
    releaseJournal();
    bus.dispose();
    await backend.close();
    if (flags.stdin) process.stdin.destroy();
  }
}

/** `--capture MODE [--capture-max SIZE]`; `--capture-max` alone is a usage error. */
function captureFlag(flags: RunFlags): CaptureSpec | undefined {
  if (flags.capture === undefined) {
    if (flags.captureMax !== undefined)
      throw new UsageError('--capture-max needs --capture stdout|json|lines');
    return undefined;
  }
  const mode = oneOf(flags.capture, '--capture', CAPTURE_MODES);
  const maxBytes =
    flags.captureMax === undefined
      ? DEFAULT_CAPTURE_BYTES
      : usage(() => parseSize(flags.captureMax!, '--capture-max'));
  if (maxBytes < 1) throw new UsageError('--capture-max must be at least 1 byte');
  return { mode, maxBytes };
}

/** For people, on stderr; a broken stderr must not turn into a crash. */
function warn(message: string): void {
  process.stderr.write(`jobrun: ${message}\n`);
}

/**
 * `--resume` after jobrun died (kill -9, a crash): jobs the journal saw start and
 * never end may still be running, as orphans. Their groups are stopped (TERM, KILL
 * after the longest kill grace) before anything starts, so a job never runs twice
 * at once; they then run again, as their outcome is unknown.
 */
async function stopLeftovers(
  journal: Journal,
  jobs: JobSpec[] | AsyncIterable<JobSpec>,
): Promise<void> {
  if (journal.unfinished.length === 0) return;
  const grace = Array.isArray(jobs)
    ? jobs.reduce((most, j) => Math.max(most, j.killGraceMs), 0)
    : 5000;
  const stopped = await stopLeftoverGroups(journal.unfinished, grace);
  if (stopped.length > 0) {
    warn(
      `stopped ${stopped.length} job${stopped.length === 1 ? '' : 's'} still running from the interrupted run ` +
        `(process groups ${stopped.join(', ')}); they run again`,
    );
  }
}

function haltPolicy(flags: RunFlags): HaltPolicy | undefined {
  if (flags.halt !== undefined && flags.failFast)
    throw new UsageError('use either --fail-fast or --halt, not both');
  if (flags.failFast) return FAIL_FAST;
  return flags.halt === undefined ? undefined : parseHalt(flags.halt);
}

/** `--delay`, `--max-load`, `--min-free-mem` (of `jobrun run` and `jobrun worker`). */
export function gateOptions(flags: {
  delay?: string;
  maxLoad?: string;
  minFreeMem?: string;
}): GateOptions {
  return {
    delayMs:
      flags.delay === undefined ? undefined : usage(() => parseDuration(flags.delay!, '--delay')),
    maxLoad: flags.maxLoad === undefined ? undefined : parsePositive(flags.maxLoad, '--max-load'),
    minFreeMemBytes:
      flags.minFreeMem === undefined
        ? undefined
        : usage(() => parseSize(flags.minFreeMem!, '--min-free-mem')),
  };
}

/** Turns a parse error of a flag's value into a usage error (exit 2, no stack). */
function usage<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError((err as Error).message);
  }
}
