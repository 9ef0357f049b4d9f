/**
 * The options of `jobrun worker`, each defined once with its value parser, and
 * `workerOptions`, which resolves the Redis URL and returns the typed `WorkerOptions`.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import type { GateOptions } from '../../core/gates.js';
import { badPoolName } from '../../backends/redis-names.js';
import { parseRedisUrl, type RedisTarget } from '../../backends/redis-url.js';
import type { SpawnerChoice } from '../../exec/spawner-choice.js';
import { resolveRedisUrl } from '../redis-url-source.js';
import { gateOptions, logsOption, redisUrlFileOption, spawnerOption } from './shared.js';
import { count, duration, nonBlank, size } from './values.js';

/** What a worker is told by its arguments, every value parsed and checked. */
export interface WorkerOptions {
  readonly target: RedisTarget;
  /** Jobs at once on this worker, all pools together. */
  readonly concurrency: number;
  /** The pools served: names, or `'*'` for every queue; none: jobs without a pool. */
  readonly pools: string[] | '*';
  readonly metricsPort?: number;
  readonly metricsHost?: string;
  readonly lockDurationMs?: number;
  readonly stallCheckMs?: number;
  /** `--pool cpu=1`: per-worker caps by pool name. */
  readonly poolCaps: Record<string, number>;
  /** Root of the job logs; undefined: `.jobrun/logs`. */
  readonly logs?: string;
  readonly gate: GateOptions;
  readonly spawner: SpawnerChoice;
  /** `--no-cache`: jobs with `cache` run and nothing is stored. */
  readonly cache: boolean;
  /** Where jobs with `cache` are looked up; undefined: `.jobrun/cache` in the worker's folder. */
  readonly cacheDir?: string;
  /** `--cache-max` in bytes. */
  readonly cacheMaxBytes?: number;
}

export interface WorkerValues {
  redisUrlFile?: string;
  workers: number;
  pool?: string[];
  metricsPort?: number;
  metricsHost?: string;
  lockDuration?: number;
  stallCheck?: number;
  logs?: string;
  delay?: number;
  maxLoad?: number;
  minFreeMem?: number;
  spawner: SpawnerChoice;
  cache: boolean;
  cacheDir?: string;
  cacheMax?: number;
}

/** `--pool a,b --pool c`: the names, checked in `workerOptions` (after the URL's warning). */
function pools(text: string, previous: readonly string[] = []): string[] {
  const names = text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  return [...previous, ...names];
}

/** Adds every option of `jobrun worker`. */
export function addWorkerOptions(cmd: Command): Command {
  const options = [
    redisUrlFileOption(),
    new Option('-j, --workers <n>', 'jobs at once on this worker, all pools together')
      .argParser(count(1))
      .default(1),
    new Option(
      '--pool <name[=n]…>',
      "pools to serve (repeatable, or a,b); '*' serves every queue; name=n: at most n of that pool's jobs at once on this worker",
    ).argParser(pools),
    new Option(
      '--metrics-port <port>',
      'serve Prometheus /metrics and /healthz on this port',
    ).argParser(count(0, 65535)),
    new Option(
      '--metrics-host <host>',
      'address for the metrics server (default: 127.0.0.1)',
    ).argParser(nonBlank('a host, e.g. 127.0.0.1')),
    new Option(
      '--lock-duration <duration>',
      "how long a job's lock lives unrenewed: how soon a dead worker's job goes to another; a worker that cannot renew a lock this long stops the job (default: 10s)",
    ).argParser(duration(1000)),
    new Option(
      '--stall-check <duration>',
      'how often to look for jobs whose worker died (lock lapsed) (default: 3s)',
    ).argParser(duration(100)),
    logsOption('folder for job logs (default: .jobrun/logs/<run>)'),
    ...gateOptions({
      delay: 'wait this long between job starts on this worker',
      maxLoad: 'start nothing while this machine’s 1-minute load is above n',
      minFreeMem: 'start nothing while this machine has less free memory',
    }),
    spawnerOption(),
    new Option(
      '--cache-dir <dir>',
      "where this worker looks up and stores jobs with cache: true, on this machine; may be shared by workers and runs (default: .jobrun/cache in the worker's folder)",
    ).argParser(nonBlank('a folder, e.g. --cache-dir /shared/cache')),
    new Option(
      '--cache-max <size>',
      'keep the cache under this size, dropping the least recently used entries after stores, e.g. 5G',
    ).argParser(size),
    new Option('--no-cache', 'look nothing up and store nothing here: jobs with cache: true run'),
  ];
  for (const option of options) cmd.addOption(option);
  return cmd;
}

/** The worker's typed options; `url` is the `[redis-url]` argument. */
export function workerOptions(url: string | undefined, values: WorkerValues): WorkerOptions {
  const say = (line: string) => process.stderr.write(`jobrun worker: ${line}\n`);
  // first: a password on the command line draws its warning whatever else is wrong
  const target = parseRedisUrl(resolveRedisUrl(url, values.redisUrlFile, say, '<redis-url>'));
  const names: string[] = [];
  const poolCaps: Record<string, number> = {};
  for (const given of values.pool ?? []) {
    const [name = '', cap] = given.split('=', 2);
    const bad = name === '*' ? undefined : badPoolName(name);
    if (bad) throw new UsageError(`--pool: ${bad}`);
    if (cap !== undefined) {
      if (!/^[1-9]\d{0,5}$/.test(cap) || name === '*')
        throw new UsageError(`--pool ${given}: give a pool name and a whole number, e.g. cpu=1`);
      poolCaps[name] = Number(cap);
    }
    names.push(name);
  }
  return {
    target,
    concurrency: values.workers,
    pools: names.includes('*') ? '*' : names,
    metricsPort: values.metricsPort,
    metricsHost: values.metricsHost,
    lockDurationMs: values.lockDuration,
    stallCheckMs: values.stallCheck,
    poolCaps,
    logs: values.logs,
    gate: { delayMs: values.delay, maxLoad: values.maxLoad, minFreeMemBytes: values.minFreeMem },
    spawner: values.spawner,
    cache: values.cache,
    cacheDir: values.cacheDir,
    cacheMaxBytes: values.cacheMax,
  };
}
