import { unranRecord, type JobRecord } from '../model/events.js';
import { endedWell, type FinalStatus, type JobStatus } from '../model/job.js';
import type { Entry } from './entry.js';

const FINAL: ReadonlySet<JobStatus> = new Set([
  'succeeded',
  'cached',
  'failed',
  'timed_out',
  'skipped',
  'cancelled',
]);

/** A job that will not run because its need `name` ended `status` (or the run stopped). */
function blockedRecord(
  entry: Entry,
  name: string,
  status: FinalStatus,
  at: number,
  stopped: string | undefined,
): JobRecord {
  if (stopped !== undefined) return unranRecord(entry.spec, 'cancelled', stopped, at);
  const verb = status === 'timed_out' ? 'timed out' : status;
  return unranRecord(entry.spec, 'skipped', `need "${name}" ${verb}`, at);
}

/**
 * The dependency graph of a manifest's jobs: who needs whom. A job becomes ready
 * once every need succeeded; when a need ends any other way, the job ends without
 * running (skipped, or cancelled while the run stops), and so do its own dependants.
 * The jobs of a pipeline's stages are linked as they become known (`linkOne`); stdin
 * lines never are: they cannot be needed, and memory must stay flat.
 */
export class Needs {
  private readonly byName = new Map<string, Entry>();
  /**
   * Every linked job: names are not always unique (`::: x x` makes two jobs named x,
   * which nothing can need), so a job is linked by itself, not by its name.
   */
  private readonly linked = new Set<Entry>();

  /** Links a manifest's jobs to their needs. Throws on a need that names no job. */
  link(entries: Entry[]): void {
    for (const entry of entries) {
      this.byName.set(entry.spec.name, entry);
      this.linked.add(entry);
    }
    for (const entry of entries) {
      for (const need of entry.spec.needs) {
        const dep = this.byName.get(need);
        if (!dep) throw new Error(`job "${entry.spec.name}" needs unknown job "${need}"`);
        dep.dependents.push(entry);
        entry.waiting++;
      }
    }
  }

  /**
   * Links one job of a stage to the jobs it needs, which came before it, and keeps it
   * by name for the jobs after it. Returns the record it ends with at once when it
   * cannot run: a need already ended without success, or names no job.
   */
  linkOne(entry: Entry, now: number, stopped: string | undefined): JobRecord | undefined {
    const { spec } = entry;
    this.byName.set(spec.name, entry);
    this.linked.add(entry);
    for (const need of spec.needs) {
      const dep = this.byName.get(need);
      if (dep === undefined)
        return unranRecord(spec, 'skipped', `needs unknown job "${need}"`, now);
      if (endedWell(dep.status)) continue;
      if (FINAL.has(dep.status))
        return blockedRecord(entry, need, dep.status as FinalStatus, now, stopped);
      dep.dependents.push(entry);
      entry.waiting++;
    }
    return undefined;
  }

  /** The job of that name, if one is linked. */
  get(name: string): Entry | undefined {
    return this.byName.get(name);
  }

  /** A stage's entry, once its jobs stand for it. */
  forget(entry: Entry): void {
    if (this.byName.get(entry.spec.name) === entry) this.byName.delete(entry.spec.name);
    this.linked.delete(entry);
  }

  /** Is `entry` linked (and not forgotten)? */
  has(entry: Entry): boolean {
    return this.linked.has(entry);
  }

  /** Every linked job, for a stop that cancels what has not started. */
  entries(): Iterable<Entry> {
    return this.linked.values();
  }

  /**
   * `entry` ended with `record`. Returns the dependants that became ready, and the
   * ones that can no longer run with the record each ends with.
   */
  settle(entry: Entry, record: JobRecord, stopped: string | undefined): Settled {
    // most jobs (every streamed one) free none: nothing to make for them
    if (entry.dependents.length === 0) return SETTLED_NONE;
    const ready: Entry[] = [];
    const blocked: Array<[Entry, JobRecord]> = [];
    for (const dependent of entry.dependents) {
      if (dependent.status !== 'pending') continue;
      if (endedWell(record.status)) {
        if (--dependent.waiting === 0) ready.push(dependent);
        continue;
      }
      const skip = blockedRecord(dependent, record.name, record.status, record.endedAt, stopped);
      blocked.push([dependent, record.excluded ? { ...skip, excluded: true } : skip]);
    }
    entry.dependents = [];
    return { ready, blocked };
  }
}

/** What a job's end does to its dependants: those it frees, those it skips (with their record). */
interface Settled {
  readonly ready: readonly Entry[];
  readonly blocked: ReadonlyArray<readonly [Entry, JobRecord]>;
}

const SETTLED_NONE: Settled = { ready: [], blocked: [] };
