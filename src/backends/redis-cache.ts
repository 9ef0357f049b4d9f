/**
 * The cache of a Redis run, as the coordinator sees it. The coordinator looks nothing
 * up: the worker that takes a job checks its own cache folder (`jobrun worker
 * --cache-dir`), restores the job's outputs there on a hit and ends it `cached`, or
 * runs it and stores it. The coordinator ships what the key needs, keeps the key each
 * job came back with (a need's key is part of its dependants'), and says what the
 * workers said: why a job runs (`--explain`), what could not be stored.
 */
import type { AttemptResult } from '../model/attempt.js';
import type { JobSpec } from '../model/job.js';
import { cachePayload, cacheReportSchema, type CachePayload } from './cache-payload.js';

export interface RemoteCacheOptions {
  /** `--explain`: told why each cached job runs, as its worker found. */
  explain?: (job: JobSpec, why: string[]) => void;
  /** Told what a worker could not look up or store. */
  warn: (line: string) => void;
}

export class RemoteCache {
  private readonly keys = new Map<string, string>();
  private readonly explained = new WeakSet<JobSpec>();

  constructor(private readonly options: RemoteCacheOptions) {}

  /** The payload's `cache` field for `job` (none without `cache`). */
  payloadOf(job: JobSpec): { cache?: CachePayload } {
    const explain = this.options.explain !== undefined;
    const cache = cachePayload(job, (need) => this.keys.get(need) ?? 'not cached', explain);
    return cache ? { cache } : {};
  }

  /** A worker said why `job` runs: told once per job, for its first attempt. */
  why(job: JobSpec, why: string[]): void {
    if (this.explained.has(job)) return;
    this.explained.add(job);
    this.options.explain?.(job, why);
  }

  /** A job ended well on a worker: its key is kept, its notes said; the result without them. */
  ended(job: JobSpec, result: AttemptResult): AttemptResult {
    const { cache, ...rest } = result as AttemptResult & { cache?: unknown };
    const report = cacheReportSchema.safeParse(cache);
    if (!job.cache || cache === undefined || !report.success) return rest;
    if (report.data.key !== undefined) this.keys.set(job.name, report.data.key);
    const where = rest.worker === undefined ? '' : ` (on ${rest.worker})`;
    for (const note of report.data.notes ?? []) this.options.warn(`${note}${where}`);
    return rest;
  }
}
