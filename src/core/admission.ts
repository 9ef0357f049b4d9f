import { unranRecord, type JobRecord } from '../model/events.js';
import type { JobSpec } from '../model/job.js';
import type { EarlierSuccess } from '../model/result.js';
import { newEntry, type Entry } from './entry.js';
import type { Needs } from './needs.js';
import { excludedRecord, refusedRecord, resumedRecord } from './records.js';
import type { SchedulerOptions } from './scheduler-options.js';

/** What admission does with the scheduler's help. */
export interface Admit {
  /** A job entered the run (it is counted). */
  added(): void;
  /** Ends a job that will not run. */
  end(entry: Entry, record: JobRecord): void;
  /** Queues a job that may start. */
  enqueue(entry: Entry): void;
  /** Starts what may, after jobs were queued. */
  pump(): void;
  /** The first jobs are linked, before any of them ends or is queued. */
  linked?(entries: Entry[]): void;
}

/** Jobs the journal says succeeded before, each with what that run left of it. */
type Resumed = Map<Entry, true | EarlierSuccess>;

type AdmissionRules = Pick<SchedulerOptions, 'selected' | 'alreadyDone' | 'held' | 'cache'>;

/**
 * How jobs enter the run. A job left out by `--only` ends skipped (and never counts
 * against the run), one done in an earlier run (`--resume`) ends succeeded without
 * running, one whose needs all succeeded is queued, and the rest wait for their
 * needs (`Needs`), which release or skip them as they end.
 */
export class Admission {
  /** While `all` resumes jobs: those still to end (see `resumeAfterNeeds`). */
  private resuming: Resumed | undefined;

  constructor(
    private readonly rules: AdmissionRules,
    private readonly needs: Needs,
    private readonly to: Admit,
  ) {}

  /**
   * A manifest's jobs, all known at once. In passes: a job left out takes its
   * dependants with it before any is resumed or queued.
   */
  all(specs: JobSpec[], now: number): void {
    const entries = specs.map((spec) => this.entry(spec));
    this.needs.link(entries);
    this.to.linked?.(entries);
    const { selected, alreadyDone, held } = this.rules;
    const pending = (act: (entry: Entry) => void) =>
      entries.forEach((entry) => entry.status === 'pending' && act(entry));
    pending((e) => selected?.(e.spec) === false && this.to.end(e, excludedRecord(e, now)));
    pending((e) => {
      const why = held?.(e.spec);
      if (why !== undefined) this.to.end(e, unranRecord(e.spec, 'skipped', why, now));
    });
    const resumed: Resumed = new Map();
    pending((e) => {
      const earlier = alreadyDone?.(e.spec);
      if (earlier) resumed.set(e, earlier);
    });
    // each waits on itself too: a resumed job's end releases its dependants, and one
    // of them that succeeded before as well must end as resumed, not be queued to run
    for (const e of resumed.keys()) e.waiting++;
    this.resumeAfterNeeds(resumed, now);
    // a stage whose resumed source ended above has expanded and left the run (its jobs
    // stand for it), though its entry is still pending here: it must not run as a job
    pending((e) => e.waiting === 0 && this.needs.has(e) && this.to.enqueue(e));
    this.to.pump();
  }

  /** One streamed job (a stdin line): it needs nothing and nothing needs it. */
  one(spec: JobSpec, now: number): void {
    const entry = this.entry(spec);
    const earlier = this.rules.alreadyDone?.(spec);
    if (earlier) {
      this.resume(entry, now, earlier);
    } else {
      this.to.enqueue(entry);
      this.to.pump();
    }
  }

  /**
   * A job of a stage that just expanded (counted already), linked by name to the jobs
   * it needs. `stopped` is the stop's reason while the run stops: a need that ended
   * meanwhile cancels the job rather than skipping it. A job its item made `refused`
   * ends failed at once. The caller starts what may.
   */
  expanded(entry: Entry, now: number, stopped: string | undefined): void {
    const ended = this.needs.linkOne(entry, now, stopped);
    const earlier = !ended && this.rules.alreadyDone?.(entry.spec);
    if (ended) {
      this.to.end(entry, ended);
    } else if (entry.spec.refused !== undefined) {
      // its item filled a setting in badly: it cannot run, and it is no one's to skip
      this.to.end(entry, refusedRecord(entry, now));
    } else if (earlier && this.resuming && entry.waiting > 0) {
      // a job it needs (by its item) is still to be resumed by `all`: it ends after it
      entry.waiting++;
      this.resuming.set(entry, earlier);
    } else if (earlier) {
      this.resume(entry, now, earlier);
    } else if (entry.waiting === 0) {
      this.to.enqueue(entry);
    }
  }

  /**
   * Ends the jobs the journal says succeeded before, each once the jobs it needs have
   * ended, whatever the file's order: a cached one's key is made from the keys of its
   * needs, and one made before a need's (a need listed after it) would name that need
   * "not cached", so it and every cached job after it would miss the cache. A resumed
   * source expands its stages as it ends; their resumed jobs join in (`expanded`). Jobs
   * still waiting for a need once none can end (one that runs in this run) end as before,
   * in the file's order.
   */
  private resumeAfterNeeds(resumed: Resumed, now: number): void {
    this.resuming = resumed;
    let ended: boolean;
    do {
      ended = false;
      // a Map's iteration visits what `expanded` adds meanwhile
      for (const [e, earlier] of resumed) {
        if (e.status !== 'pending') resumed.delete(e);
        else if (e.waiting === 1) {
          // its own wait is all that is left: every job it needs has ended, with its key
          resumed.delete(e);
          this.resume(e, now, earlier);
          ended = true;
        }
      }
    } while (ended);
    this.resuming = undefined;
    for (const [e, earlier] of resumed) if (e.status === 'pending') this.resume(e, now, earlier);
  }

  /**
   * Ends a job the journal says succeeded before. A cached one still gets its key, as part
   * of its dependants' keys: made now, as it ends, when the stages it needs have expanded
   * and its `needs` name their jobs, as when it was stored (made as it was found resumed,
   * before that, it named the stage, and every dependant missed).
   */
  private resume(entry: Entry, now: number, earlier: true | EarlierSuccess): void {
    this.rules.cache?.resumed(entry.spec);
    this.to.end(entry, resumedRecord(entry, now, earlier));
  }

  private entry(spec: JobSpec): Entry {
    this.to.added();
    return newEntry(spec);
  }
}
