/**
 * `runOptions`: the checks across `run`/`retry` flags (and the manifest argument) that
 * commander cannot express, then the one typed `RunOptions` a run takes.
 */
import { FAIL_FAST, type HaltPolicy } from '../../core/halt.js';
import type { GateOptions } from '../../core/gates.js';
import type { BackendChoice } from '../../backends/open.js';
import { parseRedisUrl } from '../../backends/redis-url.js';
import { UsageError } from '../../errors.js';
import type { SpawnerChoice } from '../../exec/spawner-choice.js';
import { argLimit } from '../../manifest/batch.js';
import { shellProblem } from '../../manifest/places.js';
import { DEFAULT_CAPTURE_BYTES } from '../../model/result.js';
import type { WorkersSpec } from '../../model/job.js';
import type { OutputSettings } from '../../reporters/settings.js';
import type { JobOverrides, SourceOptions } from '../job-source.js';
import { DEFAULT_KEEP_RUNS } from '../retention.js';
import { resolveRedisUrl } from '../redis-url-source.js';
import { DEFAULT_MAX_QUEUE, type BackendFlag, type RunValues } from './run-flags.js';
import { flagAlerts } from './operate-flags.js';
import type { AlertsSpec } from '../../model/alerts.js';

/** What a run is told by its flags, every value parsed and checked. */
export interface RunOptions {
  /** `-j`; undefined leaves it to the manifest, else one job per CPU. */
  readonly workers?: WorkersSpec;
  /** `--timeout`, `--retries`, `--kill-grace`, `--backoff`, `--capture`: win over every job. */
  readonly overrides: JobOverrides;
  /** `--halt`, or `--fail-fast` as `soon,fail=1` (named `--fail-fast` in what is shown). */
  readonly halt?: HaltPolicy;
  readonly resume: boolean;
  /** `--only` name globs (each comma-separated part is one). */
  readonly only?: readonly string[];
  readonly order?: 'fifo' | 'lifo';
  /** Streamed input: at most this many jobs wait in memory. */
  readonly maxQueue: number;
  readonly gate: GateOptions;
  readonly dryRun: boolean;
  /** Where ad-hoc jobs come from and how their input is read. */
  readonly source: SourceOptions;
  readonly output: OutputSettings;
  readonly joblog?: string;
  /** `--logs`: the user's folder, never pruned; undefined: `.jobrun/logs/<run-id>`. */
  readonly logs?: string;
  readonly keepLogs: number | 'all';
  readonly backend: BackendChoice;
  /** How long Redis may stay unreachable before the run is given up. */
  readonly redisTimeoutMs?: number;
  /** `--unserved-notice`: how long a Redis queue's jobs wait with no worker before it is said. */
  readonly unservedNoticeMs?: number;
  readonly spawner: SpawnerChoice;
  /** `--graceful`: how long running jobs may finish after the first stop signal. */
  readonly gracefulMs?: number;
  /** `--metrics-port`: where to serve Prometheus metrics. */
  readonly metrics?: { host: string; port: number };
  /** `--alert-*`: alerts that win over the manifest's. */
  readonly alerts: AlertsSpec;
  /** `--on-end`: wins over the manifest's `on_end:`. */
  readonly onEnd?: string;
  readonly cache: CacheOptions;
}

/** How a run uses the cache. */
export interface CacheOptions {
  /** `manifest`: as each job says (`cache:`); `all`: every job (`--cache`); `off`: none (`--no-cache`). */
  readonly use: 'manifest' | 'all' | 'off';
  /** `--cache-dir`; undefined: `.jobrun/cache` beside the manifest (or here, for ad-hoc jobs). */
  readonly dir?: string;
  readonly maxBytes?: number;
  /** `--cache-output`: ad-hoc jobs' outputs. */
  readonly outputs: readonly string[];
  readonly explain: boolean;
}

/**
 * The checks across flags (and the manifest argument) that commander cannot express,
 * then the typed options of the run. `manifest` is undefined for ad-hoc runs and retries.
 */
export function runOptions(values: RunValues, manifest?: string): RunOptions {
  if (values.captureMax !== undefined && values.capture === undefined)
    throw new UsageError('--capture-max needs --capture stdout|json|lines');
  if (values.cacheOutput !== undefined && manifest !== undefined)
    throw new UsageError('--cache-output is for --glob/--stdin commands; a manifest sets outputs:');
  if (values.cacheOutput !== undefined && values.cache !== true)
    throw new UsageError('--cache-output needs --cache');
  if (values.keepOrder && values.output !== undefined && values.output !== 'grouped') {
    throw new UsageError(
      `-k keeps grouped output in input order; it does not work with --output ${values.output}`,
    );
  }
  if (values.shell !== undefined) {
    if (manifest !== undefined)
      throw new UsageError(
        '--shell is for --glob/--stdin commands; a manifest sets shell: in defaults',
      );
    const problem = shellProblem(values.shell);
    if (problem !== undefined) throw new UsageError(`--shell ${values.shell}: ${problem}`);
  }
  const overrides: JobOverrides = {
    timeout: values.timeout,
    retries: values.retries,
    killGraceMs: values.killGrace,
    backoff: values.backoff,
    capture:
      values.capture === undefined
        ? undefined
        : { mode: values.capture, maxBytes: values.captureMax ?? DEFAULT_CAPTURE_BYTES },
  };
  return {
    workers: values.workers,
    overrides,
    halt: values.failFast ? FAIL_FAST : values.halt,
    resume: Boolean(values.resume),
    only: values.only,
    order: values.order,
    maxQueue: values.maxQueue ?? DEFAULT_MAX_QUEUE,
    gate: { delayMs: values.delay, maxLoad: values.maxLoad, minFreeMemBytes: values.minFreeMem },
    dryRun: Boolean(values.dryRun),
    source: {
      glob: values.glob,
      stdin: Boolean(values.stdin),
      shell: values.shell,
      requireInput: Boolean(values.requireInput),
      input: {
        delimiter: values.null ? Buffer.of(0) : values.delimiter,
        colsep: values.colsep,
        csv: values.csv,
        header: values.header,
        link: values.link,
      },
      batching:
        values.maxArgs === undefined && !values.xargs
          ? undefined
          : { maxItems: values.maxArgs, maxBytes: values.xargs ? argLimit() : undefined },
    },
    output: outputSettings(values),
    joblog: values.joblog,
    logs: values.logs,
    keepLogs: values.keepLogs ?? DEFAULT_KEEP_RUNS,
    backend: backendChoice(values.backend, values.redisUrlFile),
    redisTimeoutMs: values.redisTimeout,
    unservedNoticeMs: values.unservedNotice,
    spawner: values.spawner ?? 'auto',
    gracefulMs: values.graceful,
    metrics: values.metricsPort,
    alerts: flagAlerts(values),
    onEnd: values.onEnd,
    cache: {
      use: values.cache === true ? 'all' : values.cache === false ? 'off' : 'manifest',
      dir: values.cacheDir,
      maxBytes: values.cacheMax,
      outputs: values.cacheOutput ?? [],
      explain: Boolean(values.explain),
    },
  };
}

/** The output flags as settings: every field set here, by name (none has a silent default). */
function outputSettings(values: RunValues): OutputSettings {
  return {
    json: Boolean(values.json),
    events: Boolean(values.events),
    report: values.report,
    junit: values.junit,
    html: values.html,
    results: values.results,
    output: values.output,
    keepOrder: Boolean(values.keepOrder),
    tag: Boolean(values.tag),
    progress: values.progress ?? 'auto',
    bar: Boolean(values.bar),
    eta: Boolean(values.eta),
    summary: values.summary ?? 'auto',
  };
}

/**
 * `--backend` with `--redis-url-file`: local, or a Redis URL from (in this order) the
 * flag, the file, or `JOBRUN_REDIS_URL`; `--redis-url-file` alone means Redis.
 */
export function backendChoice(
  flag: BackendFlag | undefined,
  urlFile: string | undefined,
): BackendChoice {
  if (flag?.kind === 'local' || (flag === undefined && urlFile === undefined)) {
    if (urlFile !== undefined) throw new UsageError('--redis-url-file needs a Redis backend');
    return { kind: 'local' };
  }
  const warn = (line: string) => process.stderr.write(`jobrun: ${line}\n`);
  const what = flag?.url === undefined ? '--backend redis://…' : '--backend';
  return { kind: 'redis', target: parseRedisUrl(resolveRedisUrl(flag?.url, urlFile, warn, what)) };
}
