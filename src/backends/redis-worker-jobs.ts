import type { Redis } from 'ioredis';
import { killGroup } from '../exec/kill.js';
import type { RunningAttempt } from '../exec/types.js';
import { decodeCancel } from './redis-cancel.js';

/** A job fetched by this worker and not started yet (waiting for its pool cap or a slot). */
export interface HeldJob {
  /** The coordinator asked to drop it: it must never start. */
  cancelled: boolean;
  /** Its last look before the start was sent: it may be running from then on. */
  checked: boolean;
}

/** A job whose attempt runs on this worker. */
export interface RunningJob {
  handle: RunningAttempt;
  /** The coordinator asked to stop it (Ctrl-C, `--halt now`). */
  cancelled: boolean;
  /** Its lock could not be renewed: another worker may own the job now. */
  lockLost: boolean;
}

/**
 * The jobs a worker holds, by BullMQ job id, and everything that acts on them from the
 * outside: control messages from the coordinator (cancel), lost locks, shutdown. A new
 * kind of control message is handled in `onMessage`.
 */
export class WorkerJobs {
  readonly held = new Map<string, HeldJob>();
  readonly running = new Map<string, RunningJob>();
  /** Forced shutdown: attempts are killed and left unreported, for stalled-job recovery. */
  abandoned = false;

  constructor(private readonly log: (line: string) => void) {}

  /** Registers a fetched job until it starts or is dropped; see `release`. */
  hold(id: string): HeldJob {
    const held: HeldJob = { cancelled: false, checked: false };
    this.held.set(id, held);
    return held;
  }

  release(id: string): void {
    this.held.delete(id);
  }

  /**
   * The held jobs whose id starts with `prefix` (a run's) and whose last look before
   * the start was not sent: none of them runs, and any look sent later on the same
   * connection comes after what the caller sends now.
   */
  notChecked(prefix: string): string[] {
    const ids: string[] = [];
    for (const [id, held] of this.held) if (!held.checked && id.startsWith(prefix)) ids.push(id);
    return ids;
  }

  /**
   * A message on the control channel: held jobs are dropped; running ones are stopped,
   * unless the message asks only for what has not started (a stop that lets running
   * jobs finish): those run on to their own end and report it.
   */
  onMessage(text: string): void {
    const request = decodeCancel(text);
    for (const id of request?.jobIds ?? []) {
      const held = this.held.get(id);
      if (held) held.cancelled = true;
      const entry = this.running.get(id);
      if (!entry || request?.unstarted === true) continue;
      entry.cancelled = true;
      entry.handle.stop(request?.immediate === true);
    }
  }

  /**
   * BullMQ could not renew these jobs' locks (this process was stopped, paused by a long
   * GC, or cut off from Redis): another worker may already run them, so ours stop now
   * rather than finish and fail on "Missing lock".
   */
  lockLost(ids: string[]): void {
    for (const id of ids) {
      const entry = this.running.get(id);
      if (!entry || entry.lockLost) continue;
      entry.lockLost = true;
      entry.handle.stop(false); // TERM, then KILL after the job's grace
      this.log(`lost the lock on job ${id}: stopped it; the queue may give it to another worker`);
    }
  }

  /** Every running job's id: all their locks lapsed together. */
  runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** Kills every running job's process group at once, synchronously. */
  killAll(): void {
    for (const { handle } of this.running.values()) killGroup(handle.pid, 'SIGKILL');
  }

  /** Forced shutdown: stops every attempt now and leaves it unreported. */
  abandonAll(): void {
    this.abandoned = true;
    for (const r of this.running.values()) r.handle.stop(true);
  }
}

/** Subscribes `conn` to the control channel, handing each message to `jobs`. */
export async function listenForControl(
  conn: Redis,
  channel: string,
  jobs: WorkerJobs,
): Promise<void> {
  conn.on('message', (_channel: string, text: string) => jobs.onMessage(text));
  await conn.subscribe(channel);
}
