/**
 * Options that more than one command takes (`run`, `retry`, `worker`): each is defined
 * here once, with its value parser, and added to every command that takes it.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { SPAWNER_CHOICES } from '../../exec/spawner-choice.js';
import { DEFAULT_KEEP_RUNS } from '../retention.js';
import { count, duration, folder, keepRuns, positive, sizeOrZero } from './values.js';

/** Read by `.env()` options; empty, they count as unset (`JOBRUN_SPAWNER= jobrun run …`). */
const ENV_DEFAULTS = ['JOBRUN_SPAWNER', 'JOBRUN_KEEP_LOGS'] as const;

/**
 * Commander takes an environment variable that is set, even to nothing; jobrun always
 * read an empty one as unset. Call before a command's options are parsed.
 */
export function forgetBlankEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of ENV_DEFAULTS) if (env[name] === '') delete env[name];
}

export const spawnerOption = () =>
  new Option(
    '--spawner <kind>',
    'how jobs start: helper (small python3 spawner processes), child (node:child_process), auto: helper, child where python3 cannot run',
  )
    .choices(SPAWNER_CHOICES)
    .default('auto')
    .env('JOBRUN_SPAWNER');

export const keepLogsOption = () =>
  new Option('--keep-logs <n|all>', 'keep the logs of the last n runs in .jobrun/logs')
    .argParser(keepRuns)
    .default(DEFAULT_KEEP_RUNS)
    .env('JOBRUN_KEEP_LOGS');

export const logsOption = (description: string) =>
  new Option('--logs <dir>', description).argParser(folder);

export const redisUrlFileOption = () =>
  new Option('--redis-url-file <file>', 'read the Redis URL (with its password) from this file');

/** The options of `jobrun clean`. */
export const cleanOptions = {
  keep: () =>
    new Option('--keep <n>', 'keep the logs of the newest n runs').argParser(count(0)).default(0),
  journals: () =>
    new Option('--journals', 'also delete the journals (--resume then starts afresh)'),
  cache: () => new Option('--cache', 'also empty the cache (.jobrun/cache, or --cache-dir)'),
  cacheDir: () => new Option('--cache-dir <dir>', 'the cache folder --cache empties'),
};

/** `--delay`, `--max-load`, `--min-free-mem`: the start gates, checked on this machine. */
export const gateOptions = (where: { delay: string; maxLoad: string; minFreeMem: string }) => [
  new Option('--max-load <n>', where.maxLoad).argParser(positive),
  new Option('--min-free-mem <size>', where.minFreeMem).argParser(sizeOrZero),
  new Option('--delay <duration>', where.delay).argParser(duration()),
];

/**
 * Runs a command's checks across flags; a failure reads like commander's own errors
 * (with the hint to `--help`) and exits 2 the same way.
 */
export function checked<T>(cmd: Command, make: () => T): T {
  try {
    return make();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return cmd.error(`error: ${err.message}`, { code: 'jobrun.usage' });
  }
}
