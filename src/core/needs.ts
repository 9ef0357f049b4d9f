import { unranRecord, type JobRecord } from '../model/events.js';
import type { Entry } from './entry.js';

/**
 * The dependency graph of a manifest's jobs: who needs whom. A job becomes ready
 * once every need succeeded; when a need ends any other way, the job ends without
 * running (skipped, or cancelled while the run stops), and so do its own dependants.
 * Streamed jobs are never linked: they cannot be needed, and memory must stay flat.
 */
export class Needs {
  private readonly byName = new Map<string, Entry>();

  /** Links a manifest's jobs to their needs. Throws on a need that names no job. */
  link(entries: Entry[]): void {
    for (const entry of entries) this.byName.set(entry.spec.name, entry);
    for (const entry of entries) {
      for (const need of entry.spec.needs) {
        const dep = this.byName.get(need);
        if (!dep) throw new Error(`job "${entry.spec.name}" needs unknown job "${need}"`);
        dep.dependents.push(entry);
        entry.waiting++;
      }
    }
  }

  /** Every linked job, for a stop that cancels what has not started. */
  entries(): Iterable<Entry> {
    return this.byName.values();
  }

  /**
   * `entry` ended with `record`. Returns the dependants that became ready, and the
   * ones that can no longer run with the record each ends with.
   */
  settle(
    entry: Entry,
    record: JobRecord,
    stopped: string | undefined,
  ): { ready: Entry[]; blocked: Array<[Entry, JobRecord]> } {
    const ready: Entry[] = [];
    const blocked: Array<[Entry, JobRecord]> = [];
    for (const dependent of entry.dependents) {
      if (dependent.status !== 'pending') continue;
      if (record.status === 'succeeded') {
        if (--dependent.waiting === 0) ready.push(dependent);
        continue;
      }
      const verb = record.status === 'timed_out' ? 'timed out' : record.status;
      const skip =
        stopped === undefined
          ? unranRecord(dependent.spec, 'skipped', `need "${record.name}" ${verb}`, record.endedAt)
          : unranRecord(dependent.spec, 'cancelled', stopped, record.endedAt);
      blocked.push([dependent, record.excluded ? { ...skip, excluded: true } : skip]);
    }
    entry.dependents = [];
    return { ready, blocked };
  }
}
