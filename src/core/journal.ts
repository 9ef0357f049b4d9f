import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { JobRecord } from '../model/events.js';

/**
 * The append-only record of jobs that ended, one JSON line each, written with a
 * plain `write(2)` as each job ends: it survives `kill -9` of jobrun (the kernel
 * already holds the bytes), though not a power cut, for which it would need fsync.
 * A job is known by its name *and* command, so editing a command re-runs the job.
 * Lines hold both, as written: `{"name","command","status","time"}`. Jobs alike in
 * both (the same stdin line twice) are told apart by count: each success recorded
 * stands for one of them, so n equal jobs that succeeded n times are all skipped.
 */
export interface Journal {
  /**
   * Did this job succeed in an earlier run of the same journal? Each recorded success
   * answers yes once: ask once per job, in run order.
   */
  succeeded(job: { name: string; command: string }): boolean;
  record(job: JobRecord): void;
  close(): void;
  readonly path: string;
}

interface JournalLine {
  name: string;
  command: string;
  status: string;
  time: string;
}

/** The journal's key: exact, not hashed, so no collision can ever skip a job. */
function journalKey(job: { name: string; command: string }): string {
  return `${job.name}\0${job.command}`;
}

/** A short stable id for a job (its name and command), e.g. for queue job ids. */
export function jobFingerprint(job: { name: string; command: string }): string {
  return createHash('sha256')
    .update(job.name)
    .update('\0')
    .update(job.command)
    .digest('hex')
    .slice(0, 32);
}

/**
 * Opens the journal at `file`. With `resume` the earlier lines are read and kept;
 * otherwise the file starts empty. A torn last line (from a crash mid-write) is ignored.
 */
export function openJournal(file: string, resume: boolean): Journal {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  /** Successes not yet claimed, by name and command. */
  const done = new Map<string, number>();
  if (resume && fs.existsSync(file)) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = JSON.parse(line) as JournalLine;
        const key = journalKey(entry);
        if (entry.status === 'succeeded') done.set(key, (done.get(key) ?? 0) + 1);
      } catch {
        // a line torn by a crash: that job is simply run again
      }
    }
  }
  const fd = fs.openSync(file, resume ? 'a' : 'w');
  // A torn last line would glue onto the next record; start on a fresh line.
  if (resume && fs.fstatSync(fd).size > 0) fs.writeSync(fd, '\n');
  return {
    path: file,
    succeeded(job) {
      const key = journalKey(job);
      const left = done.get(key);
      if (!left) return false;
      if (left === 1) done.delete(key);
      else done.set(key, left - 1);
      return true;
    },
    record(job) {
      if (job.status === 'cancelled' || job.reason === 'succeeded in an earlier run') return;
      const line: JournalLine = {
        name: job.name,
        command: job.command,
        status: job.status,
        time: new Date(job.endedAt).toISOString(),
      };
      fs.writeSync(fd, JSON.stringify(line) + '\n');
    },
    close: () => fs.closeSync(fd),
  };
}

/** Where a run keeps its journal: one file per manifest (or ad-hoc command), under `stateDir`. */
export function journalPathFor(stateDir: string, identity: string): string {
  const key = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return path.join(stateDir, 'journal', `${key}.ndjson`);
}
