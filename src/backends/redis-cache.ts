/**
 * The cache of a Redis run, as the coordinator sees it. The coordinator looks nothing
 * up: the worker that takes a job checks its own cache folder (`jobrun worker
 * --cache-dir`), restores the job's outputs there on a hit and ends it `cached`, or
 * runs it and stores it. The coordinator ships what the key needs, keeps the key each
 * job came back with (a need's key is part of its dependants'), and says what the
 * workers said: why a job runs (`--explain`), what could not be stored. A job
 * `--resume` skips keeps the key it came back with in the run it resumes (its end
 * read back from Redis), as a local resumed job keeps its key. When Redis lost that end
 * (flushed, restarted without persistence, or older than its 7 days), the key is lost:
 * its dependants run uncached, as do theirs, rather than be looked up and stored under
 * a key that leaves that need out, which a later loss would hit whatever the need made.
 */
import type { AttemptResult } from '../model/attempt.js';
import type { JobSpec } from '../model/job.js';
import {
  cachePayload,
  cacheReportSchema,
  type CachePayload,
  type CacheReport,
} from './cache-payload.js';

export interface RemoteCacheOptions {
  /** `--explain`: told why each cached job runs, as its worker found. */
  explain?: (job: JobSpec, why: string[]) => void;
  /** Told what a worker could not look up or store. */
  warn: (line: string) => void;
}

export class RemoteCache {
  /** Each job's key by name; a resumed job's once a dependant asked, while it is read back. */
  private readonly keys = new Map<string, string | Promise<string | undefined>>();
  /** Jobs `--resume` skipped whose key no dependant asked for yet: how to read their end. */
  private readonly earlier = new Map<string, () => Promise<unknown>>();
  private readonly explained = new WeakSet<JobSpec>();
  /** Cached jobs whose key is lost: a need's key Redis no longer had, or a need's own loss. */
  private readonly lost = new Set<string>();

  constructor(private readonly options: RemoteCacheOptions) {}

  /** The payload's `cache` field for `job` (none without `cache`), once its needs' keys are known. */
  async payloadOf(job: JobSpec): Promise<{ cache?: CachePayload }> {
    if (!job.cache) return {};
    const needs = new Map<string, string | undefined>();
    for (const need of job.needs) needs.set(need, await this.keyOf(need));
    const lost = job.needs.find((need) => this.lost.has(need));
    if (lost !== undefined) {
      this.lost.add(job.name);
      this.options.warn(`${job.name}: not cached: the key of its need ${lost} is lost`);
      return {};
    }
    const explain = this.options.explain !== undefined;
    const cache = cachePayload(job, (need) => needs.get(need) ?? 'not cached', explain);
    return cache ? { cache } : {};
  }

  /**
   * `--resume` skipped `job` (it succeeded in the run resumed): its key is the one its
   * end in that run holds, `end` reading it back when a dependant first asks; none if
   * that end is gone.
   */
  resumed(job: JobSpec, end: () => Promise<unknown>): void {
    if (job.cache) this.earlier.set(job.name, end);
  }

  private keyOf(name: string): string | Promise<string | undefined> | undefined {
    const read = this.earlier.get(name);
    if (read === undefined) return this.keys.get(name);
    this.earlier.delete(name);
    const key = read()
      .then(
        (end) => reportOf(end)?.key,
        () => undefined,
      )
      .then((found) => {
        if (found === undefined) this.lost.add(name);
        return found;
      });
    this.keys.set(name, key);
    return key;
  }

  /** A worker said why `job` runs: told once per job, for its first attempt. */
  why(job: JobSpec, why: string[]): void {
    if (this.explained.has(job)) return;
    this.explained.add(job);
    this.options.explain?.(job, why);
  }

  /** A job ended well on a worker: its key is kept, its notes said; the result without them. */
  ended(job: JobSpec, result: AttemptResult): AttemptResult {
    const { cache: _cache, ...rest } = result as AttemptResult & { cache?: unknown };
    const report = reportOf(result);
    if (!job.cache || !report) return rest;
    if (report.key !== undefined) this.keys.set(job.name, report.key);
    const where = rest.worker === undefined ? '' : ` (on ${rest.worker})`;
    for (const note of report.notes ?? []) this.options.warn(`${note}${where}`);
    return rest;
  }
}

/** What a worker's end says of the job's cache, if it says anything valid. */
function reportOf(end: unknown): CacheReport | undefined {
  const cache = (end as { cache?: unknown } | null | undefined)?.cache;
  if (cache === undefined) return undefined;
  const report = cacheReportSchema.safeParse(cache);
  return report.success ? report.data : undefined;
}
