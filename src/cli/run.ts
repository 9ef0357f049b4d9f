import path from 'node:path';
import { FAIL_FAST, parseHalt, type HaltPolicy } from '../core/halt.js';
import { createStartGate } from '../core/gates.js';
import { journalPathFor, openJournal } from '../core/journal.js';
import type { JobSpec } from '../model/job.js';
import type { RunEventMap } from '../model/events.js';
import { JobrunError, UsageError } from '../errors.js';
import { openBackend } from '../backends/open.js';
import { parseDuration, parseSize, parseTimeout } from '../manifest/duration.js';
import { EventBus } from '../reporters/bus.js';
import { JoblogReporter } from '../reporters/joblog.js';
import { pickReporters, type OutputFlags } from '../reporters/pick.js';
import { printPlan } from './dry-run.js';
import { checkOutputFiles, makeLogDir } from './output-paths.js';
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
  /** `auto` (default), `helper` or `child`: how local jobs are started. */
  spawner?: string;
  joblog?: string;
  killGrace?: string;
  backoff?: string;
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
  };
  const halt = haltPolicy(flags);
  const order =
    flags.order === undefined
      ? undefined
      : oneOf(flags.order, '--order', ['fifo', 'lifo'] as const);
  const maxQueue =
    flags.maxQueue === undefined ? 10_000 : parseCount(flags.maxQueue, '--max-queue');
  if (maxQueue < 1) throw new UsageError('--max-queue must be at least 1');
  const gate = createStartGate({
    delayMs:
      flags.delay === undefined ? undefined : usage(() => parseDuration(flags.delay!, '--delay')),
    maxLoad: flags.maxLoad === undefined ? undefined : parsePositive(flags.maxLoad, '--max-load'),
    minFreeMemBytes:
      flags.minFreeMem === undefined
        ? undefined
        : usage(() => parseSize(flags.minFreeMem!, '--min-free-mem')),
  });
  const spawner = parseSpawner(flags.spawner);
  const workersFlag = flags.workers === undefined ? undefined : parseWorkers(flags.workers);
  const settings = source.settings;
  const jobs = noOverrides(overrides)
    ? source.jobs
    : mapJobs(source.jobs, (job) => applyOverrides(job, overrides));
  let selected: Set<string> | undefined;
  if (flags.only?.length) {
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
    await printPlan(jobs, {
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
  const backend = await openBackend(flags.backend, spawner);
  const reporters = pickReporters(flags);
  if (flags.joblog) reporters.push(new JoblogReporter(flags.joblog));
  const runId = newRunId();
  const logDir = path.resolve(flags.logs ?? path.join(STATE_DIR, 'logs', runId));
  makeLogDir(logDir);
  const journal = openJournal(journalPathFor(STATE_DIR, source.identity), Boolean(flags.resume));
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
      if (type === 'job_end') journal.record((payload as RunEventMap['job_end']).job);
    },
    halt,
    gate,
    alreadyDone: flags.resume ? (job: JobSpec) => journal.succeeded(job) : undefined,
    selected: selected ? (job: JobSpec) => selected.has(job.name) : undefined,
    captureOutput: bus.wantsOutput,
    maxQueue,
  });

  const onInt = () => scheduler.interrupt('SIGINT');
  const onTerm = () => scheduler.interrupt('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const outcome = await scheduler.run(jobs);
    try {
      await bus.flush();
    } catch (err) {
      throw new JobrunError(
        `the run ended (exit code ${outcome.exitCode}), but a report could not be written: ${(err as Error).message}`,
        'E_OUTPUT',
      );
    }
    return outcome.exitCode;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    journal.close();
    bus.dispose();
    await backend.close();
    if (flags.stdin) process.stdin.destroy();
  }
}

function haltPolicy(flags: RunFlags): HaltPolicy | undefined {
  if (flags.halt !== undefined && flags.failFast)
    throw new UsageError('use either --fail-fast or --halt, not both');
  if (flags.failFast) return FAIL_FAST;
  return flags.halt === undefined ? undefined : parseHalt(flags.halt);
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
