import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RemoteAttempt } from './redis-attempt.js';
import { encodeCancel } from './redis-cancel.js';
import { withTimeout } from './redis-health.js';
import { CANCEL_CHANNEL, KEEP_FINISHED_S, cancelledKey } from './redis-names.js';

/** How long a stop may wait on Redis for its mark and withdrawals (Redis may be dead). */
const STOP_WAIT_MS = 2000;

interface Request {
  attempt: RemoteAttempt;
  immediate: boolean;
  /** Only if no worker started it yet (see `CancelRequest.unstarted`). */
  unstarted: boolean;
}

export interface RunStopOptions {
  conn: Redis;
  runKey: string;
  /** The BullMQ queue an attempt's job is in, once that queue is ready. */
  queueOf: (attempt: RemoteAttempt) => Promise<Queue>;
  say: (line: string) => void;
}

/**
 * The one stop path of a Redis run, whatever stopped it (signal, halt, a reporter's
 * failure, Redis losing the run's state; `jobrun cancel JOB` takes steps 2 and 3 for
 * that job alone):
 * 1. the run is marked cancelled in Redis first: a worker checks the mark after it
 *    gets a slot, right before it starts a job, so none of the run's jobs starts later;
 * 2. the run's jobs still waiting are removed in bulk (one pipelined batch per queue,
 *    not a round trip per job);
 * 3. jobs a worker already holds get one cancel message per batch: the worker stops
 *    them, or drops them unstarted if they wait for a slot. A withdrawal (`unstarted`:
 *    a stop that lets running jobs finish) only drops them: one the worker started
 *    before the mark runs on to its end.
 */
export class RunStop {
  private marked: Promise<void> | undefined;
  private batch: Request[] = [];
  private sending: Promise<void> = Promise.resolve();

  constructor(private readonly o: RunStopOptions) {}

  get stopped(): boolean {
    return this.marked !== undefined;
  }

  /** Marks the run cancelled (once); every withdrawal after waits for the mark. */
  stop(): void {
    this.marked ??= withTimeout(
      this.o.conn.set(cancelledKey(this.o.runKey), '1', 'EX', KEEP_FINISHED_S),
      STOP_WAIT_MS,
    ).then(
      () => {},
      () => this.o.say('could not mark the run cancelled in Redis'),
    );
  }

  /**
   * Withdraws the attempt's job, or asks the worker holding it to drop it (and, unless
   * `unstarted`, to stop it if it runs); batched per tick. The run is not marked: a stop
   * of the whole run marks it first (`stop`), while `jobrun cancel JOB` stops that job
   * alone, and the run's other jobs go on starting.
   */
  cancel(attempt: RemoteAttempt, immediate: boolean, unstarted = false): void {
    this.batch.push({ attempt, immediate, unstarted });
    if (this.batch.length === 1) setImmediate(() => this.flush());
  }

  /** The mark and every withdrawal sent so far are done, or `STOP_WAIT_MS` passed. */
  async settled(): Promise<void> {
    await withTimeout(Promise.all([this.marked, this.sending]), STOP_WAIT_MS).catch(() => {});
  }

  private flush(): void {
    const batch = this.batch;
    this.batch = [];
    this.sending = this.sending.then(() => this.send(batch)).catch(() => {});
  }

  private async send(batch: Request[]): Promise<void> {
    await this.marked;
    const held: Request[] = [];
    const byQueue = new Map<Queue, Request[]>();
    for (const r of batch) {
      const queue = await this.o.queueOf(r.attempt);
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), r]);
    }
    for (const [queue, requests] of byQueue) {
      // BullMQ refuses (0) to remove a job a worker holds: that one gets a message
      const removed = await Promise.all(
        requests.map((r) => queue.remove(r.attempt.id).catch(() => 0)),
      );
      requests.forEach((r, i) => {
        if (removed[i] === 1)
          r.attempt.finish(r.attempt.unstarted('withdrawn before a worker took it'));
        else held.push(r);
      });
    }
    for (const immediate of [false, true])
      for (const unstarted of [false, true]) {
        const jobIds = held
          .filter((r) => r.immediate === immediate && r.unstarted === unstarted)
          .map((r) => r.attempt.id);
        if (jobIds.length === 0) continue;
        const request = unstarted ? { jobIds, immediate, unstarted } : { jobIds, immediate };
        await this.o.conn.publish(CANCEL_CHANNEL, encodeCancel(request));
      }
  }
}
