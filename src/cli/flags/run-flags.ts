/**
 * Every option of `jobrun run` and `jobrun retry`, defined once as a commander `Option`
 * whose parser yields its typed value, with its choices, conflicts, implications and
 * env default. `run-options.ts` turns what they yield into the run's `RunOptions`.
 */
import { Command, Option } from 'commander';
import type { HaltPolicy } from '../../core/halt.js';
import { UsageError } from '../../errors.js';
import type { SpawnerChoice } from '../../exec/spawner-choice.js';
import { CAPTURE_MODES, type CaptureMode } from '../../model/result.js';
import type { BackoffSpec, TimeoutSpec, WorkersSpec } from '../../model/job.js';
import {
  OUTPUT_MODES,
  PROGRESS_MODES,
  SUMMARY_MODES,
  type OutputSettings,
} from '../../reporters/settings.js';
import { operateOptions, type OperateValues } from './operate-flags.js';
import { groupHelp } from './help-groups.js';
import {
  gateOptions,
  keepLogsOption,
  logsOption,
  redisUrlFileOption,
  spawnerOption,
} from './shared.js';
import {
  commaList,
  count,
  delimiter,
  duration,
  halt,
  nonBlank,
  parseBackoff,
  parseWorkers,
  regex,
  size,
  timeout,
} from './values.js';

/**
 * What commander hands the action: each value already typed by its option's parser.
 * The output flags carry their settings' names and types (`OutputSettings`).
 */
export interface RunValues extends Partial<OutputSettings>, OperateValues {
  workers?: WorkersSpec;
  timeout?: TimeoutSpec;
  retries?: number;
  failFast?: boolean;
  halt?: HaltPolicy;
  resume?: boolean;
  cache?: boolean;
  cacheDir?: string;
  cacheMax?: number;
  cacheOutput?: string[];
  explain?: boolean;
  joblog?: string;
  capture?: CaptureMode;
  captureMax?: number;
  logs?: string;
  keepLogs?: number | 'all';
  only?: string[];
  order?: 'fifo' | 'lifo';
  maxQueue?: number;
  maxLoad?: number;
  minFreeMem?: number;
  delay?: number;
  dryRun?: boolean;
  glob?: string;
  stdin?: boolean;
  requireInput?: boolean;
  shell?: string;
  null?: boolean;
  delimiter?: Buffer;
  colsep?: RegExp;
  header?: boolean;
  csv?: boolean;
  link?: boolean;
  maxArgs?: number;
  xargs?: boolean;
  killGrace?: number;
  backoff?: BackoffSpec;
  backend?: BackendFlag;
  redisUrlFile?: string;
  redisTimeout?: number;
  unservedNotice?: number;
  spawner?: SpawnerChoice;
  /** `retry` only: where to run the re-driven jobs. */
  cwd?: string;
}

/** `--backend` as written: the URL is resolved and checked with `--redis-url-file`. */
export type BackendFlag = { kind: 'local' } | { kind: 'redis'; url?: string };

/** Streamed input: how many jobs may wait in memory when `--max-queue` is not given. */
export const DEFAULT_MAX_QUEUE = 10_000;

/** `-j`, `--timeout`, `--retries` and the output flags: `run` and `retry` take them alike. */
const common = {
  workers: () =>
    new Option(
      '-j, --workers <n|min:max>',
      "jobs at once: 4, 50% or +1/-1 of the CPUs, 0 for as many as allowed (256); min:max scales with queue depth (default: CPUs; also --jobs, -P, --max-procs); on Redis, at most n across all workers (min:max: max), default: the workers' own -j",
    ).argParser((text) => parseWorkers(text)),
  timeout: () =>
    new Option(
      '--timeout <duration>',
      'per-attempt timeout for every job: 30s, 5m, or 300% of the median run',
    ).argParser(timeout),
  retries: () =>
    new Option('--retries <n>', 'extra attempts after the first, for every job').argParser(
      count(0),
    ),
  json: () => new Option('--json', 'print the report as JSON on stdout').conflicts('events'),
  report: () => new Option('--report <file>', 'write the JSON report to a file'),
  junit: () =>
    new Option(
      '--junit <file>',
      'write a JUnit XML report (one testcase per job) for CI test tabs',
    ),
  html: () =>
    new Option(
      '--html <file>',
      'write a self-contained HTML report with a timeline of every attempt',
    ),
  output: () =>
    new Option(
      '--output <mode>',
      "job output: grouped (a job's whole output when it ends), stream ([name] line), none (log files only); default: grouped for --glob/--stdin/::: runs and when stdout is not a terminal, else the manifest's output: or none",
    ).choices(OUTPUT_MODES),
  progress: () =>
    new Option('--progress <mode>', 'how to show progress').choices(PROGRESS_MODES).default('auto'),
  tag: () => new Option('--tag', "start each output line with its job's name and a tab"),
  bar: () =>
    new Option('--bar', 'one line of progress on the terminal, nothing else').conflicts([
      'progress',
    ]),
  eta: () => new Option('--eta', 'show the estimated time left, also in plain progress lines'),
  summary: () =>
    new Option(
      '--summary <kind>',
      'at the end: table, line, or auto (the one line when an ad-hoc run all succeeded)',
    )
      .choices(SUMMARY_MODES)
      .default('auto'),
};

/** `--cache` and its company: skip jobs whose key matches an earlier success. */
function cacheOptions(): Option[] {
  return [
    new Option(
      '--cache',
      'skip every job whose command, folder, env and input files match an earlier success (as cache: true)',
    ),
    new Option('--no-cache', 'look nothing up in the cache and store nothing: every job runs'),
    new Option(
      '--cache-dir <dir>',
      "the cache folder, may be shared by runs and machines (default: .jobrun/cache beside the manifest; on Redis, each worker's --cache-dir)",
    ).argParser(nonBlank('a folder, e.g. --cache-dir /shared/cache')),
    new Option(
      '--cache-max <size>',
      'after the run, drop the least recently used entries until the cache fits, e.g. 5G',
    ).argParser(size),
    new Option(
      '--cache-output <glob>',
      'with --cache: files a job makes, stored and restored on a hit ({} placeholders allowed); repeatable',
    ).argParser((text: string, previous: string[] = []) => [...previous, text]),
    new Option(
      '--explain',
      'say on stderr why each cached job runs (which part of its key changed)',
    ),
  ];
}

/**
 * `-j` as other tools spell it: `--jobs` (GNU parallel, make), `-P`/`--max-procs`
 * (xargs, parallel). Hidden from `--help` (the `-j` line names them); each sets `workers`.
 */
class WorkersAlias extends Option {
  override attributeName(): string {
    return 'workers';
  }
}
const workerAliases = () =>
  ['--jobs <n>', '-P, --max-procs <n>'].map((flags) =>
    new WorkersAlias(flags, 'same as -j').argParser((text) => parseWorkers(text)).hideHelp(),
  );

/** Adds every option of `jobrun run`; `--help` shows them in groups (`help-groups.ts`). */
export function addRunOptions(cmd: Command): Command {
  const options = [
    common.workers(),
    ...workerAliases(),
    common.timeout(),
    common.retries(),
    new Option(
      '--fail-fast',
      'start nothing new after the first failure; running jobs finish',
    ).conflicts('halt'),
    new Option(
      '--halt <policy>',
      "GNU parallel's: now or soon, then ,fail=N ,fail=N% ,success=N or ,success=N%",
    ).argParser(halt),
    new Option('--resume', "skip jobs that succeeded in this manifest's last run (its journal)"),
    ...cacheOptions(),
    common.json(),
    new Option('--events', 'stream events as NDJSON on stdout'),
    common.report(),
    common.junit(),
    common.html(),
    common.output(),
    common.tag(),
    new Option('--joblog <file>', "write GNU parallel's tab-separated job log"),
    new Option(
      '--capture <mode>',
      "keep each job's stdout (not stderr) as its result in --json/--report/--events: stdout (text), lines (array), json (parsed; bad JSON fails the attempt)",
    ).choices(CAPTURE_MODES),
    new Option(
      '--capture-max <size>',
      'most stdout a result keeps, e.g. 64k, 4M (default: 1M); beyond, it is cut and marked resultTruncated',
    ).argParser(size),
    new Option(
      '--results <dir>',
      "write each job's stdout, stderr and meta.json to <dir>/<job name>/",
    ).argParser(nonBlank('a folder, e.g. --results out')),
    common.progress(),
    common.bar(),
    common.eta(),
    common.summary(),
    logsOption('folder for job logs (default: .jobrun/logs/<run-id>)'),
    keepLogsOption(),
    new Option('--only <name-glob>', 'run only matching jobs (and what they need); repeatable')
      .argParser(commaList)
      .conflicts('stdin'),
    new Option('--order <order>', 'among equal priorities').choices(['fifo', 'lifo']),
    new Option('--max-queue <n>', 'streamed input: at most n jobs wait in memory')
      .argParser(count(1))
      .default(DEFAULT_MAX_QUEUE),
    ...gateOptions({
      maxLoad: 'start nothing while the 1-minute load average is above n',
      minFreeMem: 'start nothing while free memory is below size (512M, 2G)',
      delay: 'wait this long between job starts',
    }),
    new Option('--dry-run', 'print the plan in start order and run nothing'),
    new Option('--glob <pattern>', 'one job per matching file; command after --')
      .argParser(nonBlank("a pattern, e.g. --glob '*.log'"))
      .conflicts('stdin'),
    new Option('--stdin', 'one job per line of stdin; command after --'),
    new Option(
      '--require-input',
      'empty input (no file matches --glob, nothing on stdin) is an error, exit 2; by default it is nothing to do, exit 0',
    ),
    new Option(
      '--shell <path>',
      'shell for ad-hoc commands (default: bash when installed, else /bin/sh)',
    ),
    new Option('-0, --null', 'input items end with NUL, not newline (find -print0)').conflicts(
      'delimiter',
    ),
    new Option(
      '-d, --delimiter <delim>',
      'input items end with this string (\\n \\t \\0 \\xHH escapes)',
    ).argParser(delimiter),
    new Option('--colsep <regex>', 'split each input line into columns {1}…{n}').argParser(regex),
    new Option(
      '--header <regex>',
      "the first line names the columns for {name} (parallel's --header :)",
    ).argParser(() => true),
    new Option('--csv', 'input is CSV (quoted fields, first row names the columns)').implies({
      header: true,
    }),
    new Option('--link', 'pair the ::: sources instead of running every combination'),
    new Option(
      '-n, --max-args <n>',
      'at most n items per job; {} stands for all of them',
    ).argParser(count(1)),
    new Option('-X, --xargs', "as many items per job as the system's argument limit allows"),
    new Option('-k, --keep-order', 'grouped output in input order'),
    new Option(
      '--kill-grace <duration>',
      'time between SIGTERM and SIGKILL for every job (default 5s)',
    ).argParser(duration()),
    new Option(
      '--backoff <spec>',
      'wait between attempts for every job: delay[,factor[,max]], e.g. 1s,2,1m',
    ).argParser(parseBackoff),
    new Option(
      '--backend <url>',
      'local (default), redis://[user:pass@]host:port[/db] to run on jobrun workers, or redis: the URL from JOBRUN_REDIS_URL',
    ).argParser(backendFlag),
    redisUrlFileOption(),
    new Option(
      '--redis-timeout <duration>',
      'end the run (exit 1) once Redis was unreachable this long (default: 30s)',
    ).argParser(duration()),
    new Option(
      '--unserved-notice <duration>',
      "say which Redis queues hold this run's jobs with no worker, once none started for this long (default: 10s; 0: never)",
    ).argParser(duration()),
    spawnerOption(),
    ...operateOptions(),
  ];
  for (const option of options) cmd.addOption(option);
  return groupHelp(cmd);
}

/** Adds the options of `jobrun retry`: the run's settings that make sense for a re-drive. */
export function addRetryOptions(cmd: Command): Command {
  for (const make of Object.values(common)) cmd.addOption(make());
  for (const alias of workerAliases()) cmd.addOption(alias);
  cmd.addOption(keepLogsOption());
  cmd.addOption(spawnerOption());
  // an interrupted retry says to run it again so: its own journal skips what it finished
  cmd.addOption(
    new Option('--resume', "skip jobs that succeeded in this report's last retry (its journal)"),
  );
  cmd.addOption(
    new Option(
      '--cwd <dir>',
      'run the jobs in DIR instead of the folders the report recorded (needed when one of those is gone)',
    ),
  );
  return groupHelp(cmd);
}

/**
 * `--backend local|redis|redis://…`. A bad value is refused without echoing it, as a
 * URL may carry a password.
 */
export function backendFlag(text: string): BackendFlag {
  if (text === 'local') return { kind: 'local' };
  if (text === 'redis') return { kind: 'redis' };
  if (/^rediss?:\/\//i.test(text)) return { kind: 'redis', url: text };
  throw new UsageError(
    '--backend: use local, redis (the URL from JOBRUN_REDIS_URL or --redis-url-file), or redis://[user:pass@]host:port[/db] (rediss:// for TLS)',
  );
}
