/**
 * The cache on a Redis worker (`jobrun worker --cache-dir`). The worker that takes a
 * job with `cache` makes its key on this machine (its inputs read here, `cache_env`
 * from this worker's environment), and on a hit restores its outputs here and ends it
 * `cached` without running it; on a miss it runs it and stores it after a success,
 * before telling the coordinator, so a run started after this one ended finds it.
 *
 * The folder is the same store a local run uses (`../cache/store.ts`): several workers,
 * and local runs, may share it at once.
 */
import { evict } from '../cache/evict.js';
import { FileHasher } from '../cache/hasher.js';
import { JobCache } from '../cache/job-cache.js';
import { CacheStore } from '../cache/store.js';
import { baseEnv } from '../exec/base-env.js';
import type { AttemptResult } from '../model/attempt.js';
import { jobVariables } from '../model/job-env.js';
import type { JobSpec } from '../model/job.js';
import type { CacheReport } from './cache-payload.js';
import { specFromPayload, type JobPayload } from './payload.js';

/** Runs whose file hashes are remembered: a file read once serves a run's every job. */
const RUNS_REMEMBERED = 4;
/** `--cache-max` is applied this long after a store at the latest, at most this often. */
const EVICT_EVERY_MS = 10_000;

export interface WorkerCacheOptions {
  /** `--cache-dir`, resolved. */
  dir: string;
  /** `--cache-max`, in bytes. */
  maxBytes?: number;
  /** What a job's relative folder is resolved against (the worker's folder). */
  baseDir: string;
  log: (line: string) => void;
}

/** A job's end as the worker reports it: the attempt, and what its cache did. */
type CacheEnded = AttemptResult & { cache?: CacheReport };

/** One job's lookup on this worker. */
export interface CacheLookup {
  /** On a hit: the end to report instead of running (`cached`, with the stored result). */
  hit?: CacheEnded;
  /** `--explain`: why it runs. */
  why?: string[];
  /** Stores the job after its success; its end as the coordinator gets it. */
  stored(result: AttemptResult): Promise<CacheEnded>;
}

export class WorkerCache {
  readonly store: CacheStore;
  private readonly hashers = new Map<string, FileHasher>();
  private lastEvict = 0;
  private evictTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: WorkerCacheOptions) {
    this.store = new CacheStore(options.dir);
    // what a worker killed mid-store left behind
    this.store
      .removeDeadTemps()
      .catch((err: unknown) => options.log(`cache: ${(err as Error).message}`));
  }

  /** Looks the job of `p` up; undefined when it has no `cache`. Never rejects. */
  async lookup(p: JobPayload, attempt: number, worker: string): Promise<CacheLookup | undefined> {
    if (!p.cache) return undefined;
    const notes: string[] = [];
    let why: string[] | undefined;
    const cache = new JobCache(this.store, {
      warn: (line) => {
        notes.push(line);
        this.options.log(line);
      },
      explain: p.cache.explain ? (_job, lines) => (why = lines) : undefined,
      hasher: this.hasherOf(p.runKey),
      needKeys: p.cache.needs,
      environ: baseEnv(), // as the job gets them: byte for byte
    });
    const job = keyedJob(p, this.options.baseDir);
    const startedAt = Date.now();
    const hit = await cache.check(job);
    const report = (): CacheReport => {
      const key = cache.keyOf(job);
      return { ...(key === undefined ? {} : { key }), ...(notes.length ? { notes } : {}) };
    };
    const stored = async (result: AttemptResult): Promise<CacheEnded> => {
      await cache.succeeded(job, result);
      this.evictSoon();
      return { ...result, cache: report() };
    };
    if (!hit) return { why, stored };
    this.options.log(`cached ${p.name}: ${hit.reason}`);
    const { reason, result, resultTruncated } = hit;
    const ended: CacheEnded = {
      attempt,
      startedAt,
      durationMs: Date.now() - startedAt,
      exitCode: 0,
      timedOut: false,
      worker,
      cached: reason,
      ...(result === undefined ? {} : { result }),
      ...(resultTruncated ? { resultTruncated } : {}),
      cache: report(),
    };
    return { hit: ended, stored };
  }

  /** One hasher per run (a file is read once per run), for the last few runs only. */
  private hasherOf(runKey: string): FileHasher {
    let hasher = this.hashers.get(runKey);
    if (hasher) return hasher;
    hasher = new FileHasher();
    this.hashers.set(runKey, hasher);
    for (const old of this.hashers.keys()) {
      if (this.hashers.size <= RUNS_REMEMBERED) break;
      this.hashers.delete(old);
    }
    return hasher;
  }

  /**
   * `--cache-max`: a store may have grown the cache past it. Eviction lists the whole
   * folder, so it runs at most every `EVICT_EVERY_MS`, and once after the last store.
   */
  private evictSoon(): void {
    const { maxBytes } = this.options;
    if (maxBytes === undefined || this.evictTimer) return;
    const wait = Math.max(0, this.lastEvict + EVICT_EVERY_MS - Date.now());
    this.evictTimer = setTimeout(() => {
      this.lastEvict = Date.now();
      evict(this.store, maxBytes)
        .then((n) => n > 0 && this.options.log(`--cache-max: dropped ${n} cache entries`))
        .catch((err: unknown) => this.options.log(`--cache-max: ${(err as Error).message}`))
        .finally(() => (this.evictTimer = undefined));
    }, wait);
    this.evictTimer.unref?.();
  }
}

/** Variables the coordinator adds to every job's `env`: not part of a key, as locally. */
const RUN_VARIABLES = Object.keys(jobVariables({ name: '', index: 0 }, ''));

/** The job as its key sees it on this machine. */
function keyedJob(p: JobPayload, baseDir: string): JobSpec {
  const spec = specFromPayload(p, baseDir);
  const cache = p.cache ?? { inputs: [], outputs: [], env: [], folder: '.', needs: {} };
  const env = { ...spec.env };
  for (const name of RUN_VARIABLES) delete env[name];
  return {
    ...spec,
    env,
    needs: Object.keys(cache.needs),
    cache: {
      inputs: cache.inputs,
      outputs: cache.outputs,
      env: cache.env,
      ...(cache.files === undefined ? {} : { files: cache.files }),
      root: spec.cwd,
      folder: cache.folder,
    },
  };
}
