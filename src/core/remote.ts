import type { AttemptResult } from '../model/attempt.js';
import type { ExecRequest, Executor, RunningAttempt } from '../exec/types.js';

/**
 * What a remote executor tells the scheduler while a job runs elsewhere. The local
 * executor needs none of this: the scheduler starts and retries local attempts itself.
 */
export interface AttemptHooks {
  /** An attempt started on a remote worker (`host:pid/slot`). */
  started(attempt: number, worker: string, pid?: number): void;
  /** An attempt ended and is not the job's last (it will be retried, or was lost). */
  attemptEnded(result: AttemptResult): void;
  /** The job waits `delayMs` before attempt `nextAttempt`. */
  retrying(nextAttempt: number, delayMs: number): void;
}

/**
 * An executor that runs *all* of a job's attempts itself (retries, backoff, hand-over
 * of stalled attempts) and reports each through the hooks. Its `result` resolves with
 * the job's last attempt. Used by the Redis coordinator: the scheduler then keeps
 * dependencies, priorities, halt policies and the report, but dispatches without
 * limits (workers and pools limit themselves) and does not retry.
 */
export interface RemoteExecutor {
  readonly remote: true;
  /** The jobs' output comes back to this process as they run (`--output`, `--results`). */
  readonly returnsOutput?: boolean;
  start(request: ExecRequest, hooks: AttemptHooks): RunningAttempt;
  /**
   * The run is stopping, whatever the reason (signal, halt, a reporter's failure): no
   * worker may start one of its jobs any more, and jobs still queued are withdrawn.
   */
  stopRun(): void;
}

export function isRemote(executor: Executor | RemoteExecutor): executor is RemoteExecutor {
  return (executor as RemoteExecutor).remote === true;
}
