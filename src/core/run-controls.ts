import type { StopSignal } from '../model/stop.js';
import { cancelJobs } from './cancel.js';
import type { QueueAhead } from './queue-ahead.js';
import { attemptsRecord } from './records.js';
import type { SchedulerCore } from './scheduler-core.js';
import {
  CANCELLED_BY_USER,
  DRAINED,
  type CancelOutcome,
  type RunControls,
  type Steering,
} from './steering.js';

/**
 * The verbs that steer a run from outside (`jobrun pause/scale/cancel/drain`, a signal,
 * a failed reporter). Each changes what may start or stops jobs through the core's own
 * moves; the one timer it keeps is the `--graceful` kill.
 */
export class Controls implements RunControls {
  private graceTimer: unknown;

  constructor(
    private readonly core: SchedulerCore,
    private readonly steer: Steering,
    private readonly queuedAhead: Pick<QueueAhead, 'withdraw'> | undefined,
    private readonly gracefulMs: number,
  ) {}

  /**
   * Stops the run: no more starts, waiting jobs are cancelled, running ones get
   * SIGTERM and SIGKILL after their grace. A second call skips the grace.
   */
  interrupt(signal: StopSignal): void {
    const order = this.core.lifecycle.interrupt(signal, this.gracefulMs > 0);
    if (!order.killRunning) this.waitForRunning(this.gracefulMs); // said before the cancelled jobs' lines
    this.core.stop(order);
  }

  /**
   * Stops the run as an interrupt does, for a reason of jobrun's own (a reporter
   * that failed): running jobs get SIGTERM, then SIGKILL after their grace.
   */
  abort(reason: string): void {
    this.core.stop(this.core.lifecycle.abort(reason));
  }

  pause(pool?: string): void {
    this.steer.pause(pool);
    this.queuedAhead?.withdraw(() => true); // a job queued behind a running one would start
  }

  unpause(pool?: string): void {
    this.steer.unpause(pool);
    this.core.pump();
  }

  scale({ workers, pools }: { workers?: number; pools?: Record<string, number> }): boolean {
    const { dispatch } = this.core;
    if (!dispatch.scalable) return false;
    this.steer.checkPools(Object.keys(pools ?? {})); // all or nothing
    if (workers !== undefined) dispatch.setWorkers(workers);
    this.queuedAhead?.withdraw(() => true); // queued again within the new limits
    for (const [pool, limit] of Object.entries(pools ?? {})) this.steer.setPoolLimit(pool, limit);
    this.core.pump();
    return true;
  }

  steering(): ReturnType<Steering['state']> {
    return this.steer.state();
  }

  drain(): void {
    const order = this.core.lifecycle.drain(DRAINED);
    if (order.first) this.waitForRunning();
    this.core.stop(order);
  }

  /**
   * Cancels the jobs named so: waiting ones end `cancelled` now, running ones are
   * stopped (TERM, KILL after their grace) and end `cancelled`, never retried.
   */
  cancel(names: string[]): CancelOutcome {
    const { clock, needs, queues, dispatch, inFlight } = this.core;
    const now = clock.now();
    const outcome = cancelJobs(names, {
      waiting: [...needs.entries()].filter((entry) => entry.status === 'pending'),
      queues,
      dispatch,
      running: inFlight,
      queuedAhead: this.queuedAhead,
      end: (entry) =>
        this.core.end(entry, attemptsRecord(entry, 'cancelled', now, CANCELLED_BY_USER)),
    });
    this.core.pump();
    return outcome;
  }

  /** The run is over: the `--graceful` kill is not due any more. */
  clear(): void {
    if (this.graceTimer !== undefined) this.core.clock.clearTimeout(this.graceTimer);
  }

  /** Says the run waits for its running jobs; with `graceMs`, stops them after it. */
  private waitForRunning(graceMs?: number): void {
    const { inFlight, lifecycle, clock, dispatch } = this.core;
    if (inFlight.size === 0) return;
    // a job still waiting in the backend (Redis) is withdrawn by the stop, not waited for;
    // one its worker started meanwhile runs on, under the grace still
    const running = [...inFlight].filter((entry) => !dispatch.withdraws(entry)).length;
    const reason = lifecycle.reason ?? 'stopping';
    if (running > 0) this.core.emit('run_stopping', { reason, running, graceMs });
    if (graceMs === undefined) return;
    const kill = () => this.core.stop({ first: false, killRunning: true, immediate: false });
    this.graceTimer = clock.setTimeout(kill, graceMs);
  }
}
