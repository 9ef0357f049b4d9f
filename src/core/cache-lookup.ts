import type { JobRecord } from '../model/events.js';
import type { AttemptResult } from '../model/attempt.js';
import { remoteHit, type CacheHit, type CacheHook } from './cache-hook.js';
import type { Entry } from './entry.js';
import { attemptsRecord, cachedRecord } from './records.js';
import type { SchedulerCore } from './scheduler-core.js';

/**
 * The scheduler's side of `CacheHook`: a job with `cache` is looked up before its first
 * attempt, holding its slot meanwhile; a hit ends it `cached`, a miss launches it, and
 * a success is stored.
 */
export class CacheLookup {
  constructor(
    private readonly core: SchedulerCore,
    private readonly cache: CacheHook | undefined,
    private readonly launch: (entry: Entry, now: number) => void,
  ) {}

  /** A job with `cache` is looked up before its first attempt. */
  needed(entry: Entry): boolean {
    return !!this.cache && !!entry.spec.cache && entry.attempts.length === 0;
  }

  /** Looks `entry` up; it holds its slot until the answer. */
  check(entry: Entry): void {
    this.cache
      ?.check(entry.spec)
      .then((hit) => this.checked(entry, hit))
      .catch((err: unknown) => this.core.crash(err));
  }

  /**
   * Did a Redis worker find the job in its own cache (`AttemptResult.cached`)? Then it
   * ends `cached`, with the stored result and no attempt, as a local hit does.
   */
  restoredRemotely(entry: Entry, result: AttemptResult): boolean {
    const hit = remoteHit(result);
    if (hit) this.core.end(entry, cachedRecord(entry, hit, this.core.clock.now()));
    return hit !== undefined;
  }

  /**
   * Ends a job that succeeded; a cached one once its outputs are stored, so that no
   * dependant (or stage) starts while they are read: it could rewrite them first.
   */
  succeeded(entry: Entry, record: JobRecord): void {
    if (!this.cache || !entry.spec.cache) return this.core.end(entry, record);
    this.cache
      .succeeded(entry.spec, record)
      .then(() => {
        this.core.end(entry, record);
        this.core.pump();
      })
      .catch((err: unknown) => this.core.crash(err));
  }

  /** A cached job was looked up: a hit ends it `cached`, a miss runs it. */
  private checked(entry: Entry, hit: CacheHit | undefined): void {
    const { clock, lifecycle, inFlight, queues } = this.core;
    const now = clock.now();
    if (!hit && !lifecycle.stopping) return this.launch(entry, now);
    inFlight.delete(entry);
    queues.release(entry);
    this.core.end(
      entry,
      hit
        ? cachedRecord(entry, hit, now)
        : attemptsRecord(entry, 'cancelled', now, lifecycle.reason),
    );
    this.core.pump();
  }
}
