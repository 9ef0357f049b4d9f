import type { AttemptResult } from '../model/attempt.js';
import type { AttemptHooks } from '../core/remote.js';
import type { ExecRequest, RunningAttempt } from '../exec/types.js';
import { parseResult, parseWorkerMessage } from './payload.js';
import { DROPPED_UNSTARTED } from './redis-cancel.js';
import type { RemoteCache } from './redis-cache.js';

/** What an attempt needs from the executor that created it. */
export interface AttemptOwner {
  readonly waiters: Map<string, RemoteAttempt>;
  /**
   * Withdraws the job from its queue, or asks the worker holding it to drop it and,
   * unless `unstarted`, to stop it if it runs.
   */
  cancel(attempt: RemoteAttempt, immediate: boolean, unstarted?: boolean): Promise<void>;
  /**
   * Where attempt `n`'s output came back to (`--results`), if anywhere; of an attempt
   * `stopped` here, only what came back before its worker stopped sending it.
   */
  streamsOf(
    attempt: RemoteAttempt,
    n: number,
    stopped: boolean,
  ): { stdoutPath?: string; stderrPath?: string };
  /** The run's cache, when its jobs may use one. */
  readonly cache?: RemoteCache;
}

/**
 * One job on the workers, as the scheduler sees it: every attempt is reported through
 * the hooks; `result` resolves with the last one. An attempt that a worker started and
 * never finished (the worker died) is closed as lost when BullMQ reports the job
 * stalled or another worker starts it, so the report counts it.
 */
export class RemoteAttempt implements RunningAttempt {
  readonly result: Promise<AttemptResult>;
  readonly pid = undefined;
  private resolve!: (r: AttemptResult) => void;
  private open: { attempt: number; worker: string; startedAt: number } | undefined;
  private last: AttemptResult | undefined;
  private attempts = 0;
  /** The last attempt whose end was heard. */
  private ended = 0;
  private done = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Withdrawn unless started (`dropUnlessStarted`), and no start heard since. */
  private dropping = false;
  /** Asked to stop (`stop`): its worker sends no more of its output. */
  private stopping = false;

  constructor(
    private readonly owner: AttemptOwner,
    readonly id: string,
    readonly request: ExecRequest,
    private readonly hooks: AttemptHooks,
  ) {
    this.result = new Promise((resolve) => (this.resolve = resolve));
  }

  get isDone(): boolean {
    return this.done;
  }

  /** A worker said it started the attempt, and its end was not heard yet. */
  get isRunning(): boolean {
    return this.open !== undefined;
  }

  message(data: unknown): void {
    const m = parseWorkerMessage(data);
    if (!m || this.done) return;
    // `--resume` reads the job's last message back while the queue's events already
    // come in: a message of an attempt whose end was heard is one heard twice (else the
    // end of an attempt that is retried would be reported twice, a start reopen it)
    if ((m.kind === 'start' ? m.attempt : m.result.attempt) <= this.ended) return;
    if (m.kind === 'start') {
      if (this.open && this.open.attempt === m.attempt) return; // the same start, read back
      this.lose('another worker took the job');
      if (this.dropping) {
        // a worker started it before the withdrawal reached it: it runs on to its end
        this.dropping = false;
        this.clearTimer();
      }
      this.open = { attempt: m.attempt, worker: m.worker, startedAt: m.startedAt };
      this.attempts = Math.max(this.attempts, m.attempt);
      if (m.why) this.owner.cache?.why(this.request.job, m.why);
      this.hooks.started(m.attempt, m.worker, m.pid);
      return;
    }
    this.open = undefined;
    this.ended = m.result.attempt;
    if (m.retryInMs === undefined) {
      this.last = m.result;
      return;
    }
    this.hooks.attemptEnded(m.result);
    this.hooks.retrying(m.result.attempt + 1, m.retryInMs);
  }

  completed(returnvalue: unknown): void {
    const parsed = parseResult(returnvalue);
    const result =
      parsed && this.owner.cache ? this.owner.cache.ended(this.request.job, parsed) : parsed;
    this.open = undefined;
    this.finish(
      result ?? {
        ...this.failure('a worker reported success without a result'),
        exitCode: 0,
        error: undefined,
      },
    );
  }

  failed(reason: string): void {
    // a worker dropped it unstarted at a stop: no attempt, unless one ended before
    const none = reason === DROPPED_UNSTARTED ? this.unstarted(reason) : undefined;
    this.finish(this.last ?? none ?? this.failure(reason));
  }

  stalled(): void {
    this.lose(
      'it stopped renewing the job’s lock (killed, or cut off); the job went back to the queue',
    );
  }

  stop(immediate = false): void {
    if (this.done) return;
    this.stopping = true;
    if (this.dropping) {
      // a withdrawal became a stop (a second Ctrl-C): its bound, which a start would lift, goes
      this.dropping = false;
      this.clearTimer();
    }
    if (!this.timer || immediate) {
      // give the worker the job's kill grace to confirm, then stop waiting for it
      this.clearTimer();
      const ms = immediate ? 2000 : this.request.job.killGraceMs + 5000;
      this.timer = setTimeout(() => this.finish(this.failure('no worker confirmed the stop')), ms);
      this.timer.unref?.();
    }
    this.owner.cancel(this, immediate).catch(() => {});
  }

  /**
   * A stop that lets running jobs finish, of a job not heard to start: withdrawn from
   * its queue, or dropped by the worker holding it, unless that worker started it
   * already; then it runs on, and its end is reported as any other. The wait for a word
   * (its start, or a result) is bounded as a stop's is: a worker that held it may be
   * gone, and then no worker starts it any more (the run is marked cancelled).
   */
  dropUnlessStarted(): void {
    if (this.done) return;
    this.owner.cancel(this, false, true).catch(() => {});
    if (this.open !== undefined || this.timer !== undefined) return; // it runs, or a stop waits
    this.dropping = true;
    this.timer = setTimeout(
      () => this.finish(this.unstarted('withdrawn: no worker said it started')),
      this.request.job.killGraceMs + 5000,
    );
    this.timer.unref?.();
  }

  /** The result of an attempt no worker started, withdrawn at a stop (see `AttemptResult.unstarted`). */
  unstarted(why: string): AttemptResult {
    return { ...this.failure(why), unstarted: true };
  }

  /** A result for an attempt that ended without a worker's report of it. */
  failure(error: string): AttemptResult {
    const open = this.open;
    return {
      attempt: open?.attempt ?? this.attempts + 1,
      startedAt: open?.startedAt ?? Date.now(),
      durationMs: open ? Date.now() - open.startedAt : 0,
      timedOut: false,
      error,
      worker: open?.worker,
    };
  }

  finish(result: AttemptResult): void {
    if (this.done) return;
    this.done = true;
    this.clearTimer();
    this.owner.waiters.delete(this.id);
    this.resolve({ ...result, ...this.owner.streamsOf(this, result.attempt, this.stopping) });
  }

  clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private lose(why: string): void {
    if (!this.open) return;
    const lost = this.failure(`lost: with its worker ${this.open.worker}: ${why}`);
    this.open = undefined;
    this.hooks.attemptEnded(lost);
  }
}
