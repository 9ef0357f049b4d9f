import type { JobRecord } from '../model/events.js';
import { endedWell } from '../model/job.js';
import type { CapturedResult } from '../model/result.js';

/** What a fan-in reads on its stdin of one source job that succeeded. */
export function stdinLine(name: string, result: CapturedResult | undefined): string {
  return JSON.stringify({ name, result: result ?? null }) + '\n';
}

/**
 * The final records of the jobs whose results other jobs read: a stage's source (its
 * items) and a `stdin: { from }` source (a fan-in). Only those are kept, so a run of
 * many jobs keeps no more than its pipeline reads.
 */
export class Results {
  private readonly read = new Set<string>();
  private readonly records = new Map<string, JobRecord>();

  /** Keep the record of the job (or, once expanded, every job of the stage) named so. */
  watch(name: string): void {
    this.read.add(name);
  }

  watched(name: string): boolean {
    return this.read.has(name);
  }

  /** Call with every job's final record. */
  ended(record: JobRecord): void {
    if (this.read.has(record.name)) this.records.set(record.name, record);
  }

  get(name: string): JobRecord | undefined {
    return this.records.get(name);
  }

  /** A fan-in's standard input: one JSON line `{"name","result"}` per job that succeeded. */
  input(names: readonly string[]): string {
    let text = '';
    for (const name of names) {
      const record = this.records.get(name);
      if (!record || !endedWell(record.status)) continue;
      text += stdinLine(name, record.result);
    }
    return text;
  }
}
