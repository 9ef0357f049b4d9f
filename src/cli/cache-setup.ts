/**
 * The cache of a run, from its flags: which jobs use it (`cache:`, `--cache`,
 * `--no-cache`), where it lives, and what happens to it once the run ended (pending
 * stores finish, `--cache-max` evicts).
 */
import path from 'node:path';
import { evict } from '../cache/evict.js';
import { JobCache } from '../cache/job-cache.js';
import { CacheStore } from '../cache/store.js';
import { baseEnv } from '../exec/base-env.js';
import type { CacheHook } from '../core/cache-hook.js';
import { substituteGlob } from '../manifest/quote.js';
import type { JobSpec, RunSettings } from '../model/job.js';
import type { CacheOptions } from './flags/run-options.js';
import { mapJobs } from './job-source.js';

/** The folder under which `.jobrun/cache` is made, and a job's folder is keyed from. */
function cacheRoot(settings: RunSettings): string {
  return settings.manifestPath === null ? process.cwd() : path.dirname(settings.manifestPath);
}

export function cacheDir(options: CacheOptions, settings: RunSettings): string {
  return path.resolve(options.dir ?? path.join(cacheRoot(settings), '.jobrun', 'cache'));
}

export interface RunCache {
  jobs: JobSpec[] | AsyncIterable<JobSpec>;
  /** Undefined when no job can use the cache here (none, or on Redis, the workers'). */
  hook?: CacheHook;
  /** `--explain`: says why a cached job runs. */
  explain?: (job: JobSpec, why: string[]) => void;
  /** Waits for the run's stores, then applies `--cache-max`. */
  finish(): Promise<void>;
}

/**
 * The jobs as the cache options make them (every job cached with `--cache`, none with
 * `--no-cache`), and the hook the scheduler looks them up with. Opened only for a run
 * some job of which may use the cache (`run.ts`): a job, a stage's template, `--cache`.
 */
export function openRunCache(
  jobs: JobSpec[] | AsyncIterable<JobSpec>,
  settings: RunSettings,
  options: CacheOptions,
  where: { fromGlob: boolean; remote: boolean },
  warn: (message: string) => void,
): RunCache {
  if (options.use === 'off') return { jobs: mapJobs(jobs, withoutCache), finish: async () => {} };
  const root = cacheRoot(settings);
  const cached =
    options.use === 'all'
      ? mapJobs(jobs, (job) => cacheAll(job, root, options, where.fromGlob))
      : jobs;
  const explain = options.explain
    ? (job: JobSpec, why: string[]) => warn(`${job.name} runs: ${why.join('; ')}`)
    : undefined;
  // the workers look up, store and evict in their own --cache-dir
  if (where.remote) {
    if (options.dir !== undefined || options.maxBytes !== undefined)
      warn(
        '--cache-dir and --cache-max are not used on Redis: each worker uses its own (jobrun worker --cache-dir)',
      );
    return { jobs: cached, explain, finish: async () => {} };
  }
  const store = new CacheStore(cacheDir(options, settings));
  // cache_env values as the jobs get them: byte for byte (see base-env.ts)
  const cache = new JobCache(store, { warn, explain, environ: baseEnv() });
  // what a run killed mid-store left behind, cleared while this one starts
  const swept = store.removeDeadTemps().catch(() => undefined);
  return {
    jobs: cached,
    hook: cache,
    finish: async () => {
      await swept;
      await cache.settle();
      if (options.maxBytes !== undefined) await evict(store, options.maxBytes);
    },
  };
}

function withoutCache(job: JobSpec): JobSpec {
  if (!job.cache) return job;
  const { cache: _cache, ...rest } = job;
  return rest;
}

/** `--cache`: a job without `cache:` gets it, keyed on its glob item and `--cache-output`. */
function cacheAll(job: JobSpec, root: string, options: CacheOptions, fromGlob: boolean): JobSpec {
  if (job.cache) return job;
  const item = { args: job.items ?? [job.name] };
  const outputs = options.outputs.map((glob) => substituteGlob(glob, item, job.index + 1));
  const files = fromGlob ? { files: item.args } : {};
  return { ...job, cache: { inputs: [], outputs, env: [], root, ...files } };
}
