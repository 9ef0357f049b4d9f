import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { JobRecord } from '../model/events.js';
import type { EarlierSuccess } from '../model/result.js';
import { endedWell, jobId, type JobSpec } from '../model/job.js';
import { UsageError } from '../errors.js';
import { bootId } from '../exec/proc.js';
import { forEachLine } from './journal-lines.js';
import { lockJournal } from './journal-lock.js';

/**
 * The append-only record of a run, one JSON line each, written with a plain
 * `write(2)`: it survives `kill -9` of jobrun (the kernel already holds the bytes),
 * though not a power cut, for which it would need fsync. A job is known by its name
 * *and* command, so editing a command re-runs the job.
 *
 * - As each spawner process starts, before it is given a job:
 *   `{"status":"spawner","pid","boot","start","time"}` (it leads its own process group).
 * - As each attempt's process starts: `{"name","command","status":"running","pid","boot","start","time"}`
 *   (its process group is `pid`; `boot` and `start`, the boot id and the leader's
 *   start time in ticks as its executor read it, tell a live group of ours from a
 *   recycled pid; `start` is absent where it could not be known).
 * - As a job ends: `{"name","command","status","time","pids"}`, `pids` being the
 *   groups of all its attempts: starts and ends pair per attempt, so a job that was
 *   retried leaves no start unpaired. A success also carries its captured `result`
 *   (bounded by its `capture_max`, plus `resultTruncated`), so a resumed pipeline's
 *   stages get the same items without running their source again.
 *
 * A start that no end names was running when jobrun died: `unfinished` lists those,
 * for `--resume` to stop what is left of them before running them again. A spawner
 * stops its jobs when jobrun dies, also those whose start jobrun never heard of (it
 * holds the news of a start back a moment, see `spawner-source.ts`): `spawners` lists
 * them all, for `--resume` to wait for those still alive.
 *
 * Lines are gathered and written together. A start is written as soon as the code
 * running now is done (a microtask): the starts a spawner reports in one read share a
 * write, which comes before any of them is announced. The caller still calls `flush`
 * before it says a job started (`job_start`): a start is said only once its line is
 * safe from a `kill -9`. An end is written with the next start or once the turn of the
 * event loop is over, whichever comes first.
 *
 * Jobs alike in name and command (the same stdin line twice) are told apart by count:
 * each success recorded stands for one of them, so n equal jobs that succeeded n
 * times are all skipped.
 *
 * Writing never throws: the first failure (a full disk) is kept in `error`, passed
 * to `onError`, and the journal stops there; the run goes on, and a later `--resume`
 * simply runs again what the journal does not know about.
 */
export interface Journal {
  /**
   * Did this job succeed in an earlier run of the same journal? Then what it left (its
   * result), else false. Each recorded success answers once: ask once per job, in run order.
   */
  succeeded(job: { name: string; command: string }): EarlierSuccess | false;
  /**
   * A job's attempt started as process group `pid`, whose leader started at `start`
   * (ticks since boot, as its executor read it before the leader could be reaped).
   * Written, with the lines gathered before it, once the code running now is done, or
   * by an earlier `flush`.
   */
  started(
    job: Pick<JobSpec, 'name' | 'command' | 'index'>,
    pid: number | undefined,
    start: number | undefined,
  ): void;
  /**
   * A spawner process started as `pid` (its own process group), at `start` (ticks since
   * boot): written before it returns, so before the spawner is given any job.
   */
  spawner(pid: number, start: number | undefined): void;
  /** A job ended; written with the next start, or at the end of this turn of the event loop. */
  record(job: JobRecord): void;
  /** Writes the lines not yet written. */
  flush(): void;
  /** Jobs the previous run started and never ended (read with `resume` only). */
  readonly unfinished: JournalStart[];
  /** The spawners of earlier runs since the journal was last compacted (read with `resume` only). */
  readonly spawners: JournalProcess[];
  /** The first write error, if any; the journal is incomplete from there on. */
  readonly error: Error | undefined;
  onError?: (err: Error) => void;
  close(): void;
  readonly path: string;
}

/** A process as the journal names it for good: its pid, boot id and start time in ticks. */
interface JournalProcess {
  pid: number;
  boot?: string;
  start?: number;
}

/** A start without an end: the job was running when its jobrun died. */
interface JournalStart extends JournalProcess {
  name: string;
  command: string;
}

interface JournalLine extends EarlierSuccess {
  name: string;
  command: string;
  status: string;
  time: string;
  pid?: number;
  boot?: string;
  start?: number;
  /** On an end: the process groups of the job's attempts, each closing its start. */
  pids?: number[];
}

/** A spawner as it started. */
interface SpawnerLine extends JournalProcess {
  status: 'spawner';
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
 * Opens the journal at `file`, taking its lock (see `lockJournal`: a second run of
 * the same manifest at once is a usage error). With `resume` the earlier lines are
 * read and kept; otherwise the file starts empty. A torn last line (from a crash
 * mid-write) is ignored. `what` names the run for the lock's message.
 */
export function openJournal(file: string, resume: boolean, what = file): Journal {
  let release: () => void;
  let fd: number;
  /** Successes not yet claimed, by name and command, oldest first. */
  const done = new Map<string, EarlierSuccess[]>();
  /** Starts not yet ended, oldest first, by name and command. */
  const running = new Map<string, JournalStart[]>();
  const spawners: JournalProcess[] = [];
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    release = lockJournal(file, what);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot open the journal ${file}: ${(err as Error).message}`);
  }
  try {
    if (resume && fs.existsSync(file)) readLines(file, done, running, spawners);
    fd = fs.openSync(file, resume ? 'a' : 'w');
  } catch (err) {
    release();
    throw new UsageError(`cannot open the journal ${file}: ${(err as Error).message}`);
  }
  const boot = bootId();
  /** This run's attempts whose job has not ended: job id → their process groups. */
  const open = new Map<string, number[]>();
  let closed = false;
  const journal: Journal = {
    path: file,
    unfinished: [...running.values()].flat(),
    spawners,
    error: undefined,
    succeeded(job) {
      const key = journalKey(job);
      const left = done.get(key);
      const first = left?.shift();
      if (left?.length === 0) done.delete(key);
      return first ?? false;
    },
    started(job, pid, start) {
      if (pid === undefined) return;
      const id = jobId(job);
      const pids = open.get(id);
      if (pids === undefined) open.set(id, [pid]);
      else pids.push(pid);
      const { name, command } = job;
      add({ name, command, status: 'running', time: new Date().toISOString(), pid, boot, start });
      if (flushNow) return;
      flushNow = true;
      queueMicrotask(() => {
        flushNow = false;
        journal.flush();
      });
    },
    spawner(pid, start) {
      add({ status: 'spawner', pid, boot, start, time: new Date().toISOString() });
      journal.flush();
    },
    record(job) {
      const pids = open.get(job.id);
      open.delete(job.id);
      if (job.reason === 'succeeded in an earlier run') return;
      // a job cancelled before it started has nothing to close
      if (job.status === 'cancelled' && job.attempts.length === 0) return;
      // one literal of one shape, no spreads: a line is made per job (undefined keys are left out)
      // a cached job's result came back from the cache: a stage it feeds is made from it on --resume
      const succeeded = endedWell(job.status);
      add({
        name: job.name,
        command: job.command,
        status: job.status,
        time: new Date(job.endedAt).toISOString(),
        pids,
        result: succeeded ? job.result : undefined,
        resultTruncated: succeeded && job.resultTruncated ? true : undefined,
      });
      flushSoon ??= setImmediate(() => journal.flush());
    },
    flush() {
      if (flushSoon !== undefined) clearImmediate(flushSoon);
      flushSoon = undefined;
      if (pending === '') return;
      const text = pending;
      pending = '';
      write(text);
    },
    close() {
      if (closed) return;
      journal.flush();
      closed = true;
      try {
        fs.closeSync(fd);
      } finally {
        release();
      }
    },
  };
  /** Lines gathered for the next write. */
  let pending = '';
  let flushSoon: NodeJS.Immediate | undefined;
  /** A start waits to be written in a microtask (see `started`). */
  let flushNow = false;
  const add = (line: JournalLine | SpawnerLine) => {
    if (journal.error === undefined && !closed) pending += JSON.stringify(line) + '\n';
  };
  const write = (text: string) => {
    if (journal.error !== undefined || closed) return;
    try {
      fs.writeSync(fd, text);
    } catch (err) {
      const error = new Error(`cannot write the journal ${file}: ${(err as Error).message}`);
      (journal as { error: Error | undefined }).error = error;
      journal.onError?.(error);
    }
  };
  // A torn last line would glue onto the next record; start on a fresh line.
  if (resume && fs.fstatSync(fd).size > 0) write('\n');
  return journal;
}

/** What a success leaves for `--resume`: its captured result, if any. */
export function earlierSuccess(line: EarlierSuccess): EarlierSuccess {
  const { result, resultTruncated } = line;
  return {
    ...(result === undefined ? {} : { result }),
    ...(resultTruncated ? { resultTruncated } : {}),
  };
}

/**
 * Replays the journal's lines into the set of succeeded jobs, the map of unfinished ones
 * and the list of spawners.
 */
function readLines(
  file: string,
  done: Map<string, EarlierSuccess[]>,
  running: Map<string, JournalStart[]>,
  spawners: JournalProcess[],
): void {
  forEachLine(file, (line) => {
    if (!line.trim()) return;
    let entry: JournalLine;
    try {
      entry = JSON.parse(line) as JournalLine;
    } catch {
      return; // a line torn by a crash: that job is simply run again
    }
    if (!entry.status) return;
    if (entry.status === 'spawner') {
      const { pid, boot, start } = entry;
      if (typeof pid === 'number') spawners.push({ pid, boot, start });
      return;
    }
    const key = journalKey(entry);
    if (entry.status === 'running') {
      if (typeof entry.pid === 'number') {
        const { name, command, pid, boot, start } = entry;
        const starts = running.get(key) ?? [];
        starts.push({ name, command, pid, boot, start });
        running.set(key, starts);
      }
      return;
    }
    const starts = running.get(key);
    closeStarts(starts, entry.pids);
    if (starts?.length === 0) running.delete(key); // what a long journal leaves open stays small
    if (entry.status !== 'succeeded' && entry.status !== 'cached') return;
    const successes = done.get(key) ?? [];
    successes.push(earlierSuccess(entry));
    done.set(key, successes);
  });
}

/**
 * An end closes the starts of its attempts, by process group; an end that names none
 * (a journal from an older jobrun) closes the oldest start of its job.
 */
function closeStarts(starts: JournalStart[] | undefined, pids: unknown): void {
  if (starts === undefined) return;
  if (!Array.isArray(pids)) {
    starts.shift();
    return;
  }
  for (const pid of pids) {
    // the latest start with that pid: an older one is another run's, whose pid came back
    const at = starts.findLastIndex((s) => s.pid === pid);
    if (at >= 0) starts.splice(at, 1);
  }
}

/** Where a run keeps its journal: one file per manifest (or ad-hoc command), under `stateDir`. */
export function journalPathFor(stateDir: string, identity: string): string {
  const key = createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return path.join(stateDir, 'journal', `${key}.ndjson`);
}
