import { logPathOf } from '../core/log-path.js';
import type { RunEvent } from '../model/events.js';
import type { FinalStatus } from '../model/job.js';
import type { Reporter } from '../reporters/types.js';

/** A job in a queue, or waiting out its backoff (`retry`) before attempt `nextAttempt`. */
interface Waiting {
  name: string;
  retry: boolean;
  nextAttempt?: number;
  dueAt?: number;
}

interface Running {
  id: string;
  name: string;
  since: number;
  attempt: number;
  worker: string;
}

/** A run as another process sees it: `jobrun ps`, and where `jobrun watch` starts from. */
export interface RunSnapshot {
  runId: string;
  manifestPath: string | null;
  logDir: string;
  startedAt: number;
  total: number | null;
  workers: number;
  /** On Redis workers: `workers` is the run's limit across them, 0 for none (see `workersText`). */
  remote?: true;
  done: Record<FinalStatus, number>;
  /** Ids and names of the jobs waiting in a queue or for a retry. */
  queued: Array<{ id: string; name: string }>;
  /** With the attempt each waits to make and when (epoch ms) its backoff ends. */
  retrying: Array<{ id: string; name: string; nextAttempt?: number; dueAt?: number }>;
  running: Running[];
  /** Set once the run starts nothing more (a stop, a drain). */
  stopping?: string;
  ended: boolean;
}

/** Where one job's output is, and whether it may still grow. */
export interface JobLog {
  path?: string;
  attempt?: number;
  state: 'waiting' | 'running' | 'ended' | 'unknown';
  /**
   * Waiting: `path` is the log its first attempt will write, and a file there older
   * than this (the run's start, ms) is an earlier run's (`--resume`, `--logs DIR`).
   * A follower that finds the run ended before it saw the job start reads it from there.
   */
  writtenSince?: number;
  /** A job that ended without ever starting (skipped, cancelled, cached): how it ended. */
  endedAs?: FinalStatus;
}

/**
 * Keeps what the run's events say as counters and small maps, for the control
 * socket to answer from; it never changes the run. Memory grows with the jobs
 * waiting and running (as the live view's does) and with the names that started
 * or ended without starting, for `jobrun logs`.
 */
export class RunState implements Reporter {
  private snapshotBase: Omit<RunSnapshot, 'queued' | 'retrying' | 'running'> = {
    runId: '',
    manifestPath: null,
    logDir: '',
    startedAt: 0,
    total: null,
    workers: 0,
    done: { succeeded: 0, cached: 0, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 },
    ended: false,
  };
  private readonly waiting = new Map<string, Waiting>();
  private readonly running = new Map<string, Running>();
  /** By name: the id and attempt of its latest start, and whether it ended. */
  private readonly logs = new Map<string, { id: string; attempt: number; ended: boolean }>();
  /** By name: the jobs that ended without starting, so `jobrun logs` can say so. */
  private readonly unstarted = new Map<string, FinalStatus>();

  onEvent(e: RunEvent): void {
    const s = this.snapshotBase;
    switch (e.type) {
      case 'run_start':
        Object.assign(s, {
          runId: e.runId,
          manifestPath: e.manifestPath,
          logDir: e.logDir,
          startedAt: e.time,
          total: e.total,
          workers: e.workers,
          remote: e.remote,
        });
        break;
      case 'job_queued':
        this.waiting.set(e.id, { name: e.name, retry: false });
        break;
      case 'job_retry':
        this.waiting.set(e.id, {
          name: e.name,
          retry: true,
          nextAttempt: e.nextAttempt,
          dueAt: e.time + e.delayMs,
        });
        break;
      case 'job_start':
        this.waiting.delete(e.id);
        this.running.set(e.id, {
          id: e.id,
          name: e.name,
          since: e.time,
          attempt: e.attempt,
          worker: e.worker,
        });
        this.logs.set(e.name, { id: e.id, attempt: e.attempt, ended: false });
        break;
      case 'attempt_end':
        this.running.delete(e.id);
        break;
      case 'job_end': {
        this.waiting.delete(e.job.id);
        this.running.delete(e.job.id);
        s.done[e.job.status]++;
        const log = this.logs.get(e.job.name);
        if (log?.id === e.job.id) log.ended = true;
        else if (log === undefined) this.unstarted.set(e.job.name, e.job.status);
        break;
      }
      case 'workers_change':
        s.workers = e.workers;
        break;
      case 'run_stopping':
        s.stopping = e.reason;
        break;
      case 'run_end':
        s.ended = true;
        break;
      default:
        break;
    }
  }

  snapshot(): RunSnapshot {
    const waiting = [...this.waiting].map(([id, w]) => ({ id, ...w }));
    return {
      ...this.snapshotBase,
      done: { ...this.snapshotBase.done },
      queued: waiting.filter((w) => !w.retry).map(({ id, name }) => ({ id, name })),
      retrying: waiting
        .filter((w) => w.retry)
        .map(({ id, name, nextAttempt, dueAt }) => ({ id, name, nextAttempt, dueAt })),
      running: [...this.running.values()],
    };
  }

  /** Counts for `jobrun ps`, without the lists. */
  counts(): { queued: number; retrying: number; running: number } {
    let retrying = 0;
    for (const w of this.waiting.values()) if (w.retry) retrying++;
    return { queued: this.waiting.size - retrying, retrying, running: this.running.size };
  }

  get base(): Readonly<Omit<RunSnapshot, 'queued' | 'retrying' | 'running'>> {
    return this.snapshotBase;
  }

  /** The latest attempt's log of the job named `name` (the one the run's log folder holds). */
  jobLog(name: string): JobLog {
    const log = this.logs.get(name);
    if (log === undefined) {
      const endedAs = this.unstarted.get(name);
      if (endedAs !== undefined) return { state: 'ended', endedAs };
      const id = [...this.waiting].find(([, w]) => w.name === name)?.[0];
      if (id === undefined) return { state: 'unknown' };
      const { logDir, startedAt } = this.snapshotBase;
      return {
        path: logPathOf(logDir, id, 1),
        attempt: 1,
        state: 'waiting',
        writtenSince: startedAt,
      };
    }
    const file = logPathOf(this.snapshotBase.logDir, log.id, log.attempt);
    return { path: file, attempt: log.attempt, state: log.ended ? 'ended' : 'running' };
  }
}
