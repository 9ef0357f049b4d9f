import type { WorkersSpec } from '../model/job.js';

/**
 * How many jobs may run at once. A fixed pool has min = max. A dynamic pool grows
 * at once to meet jobs that are ready and waiting, and shrinks back toward `min`
 * once slots have sat idle for `idleMs`.
 */
export class WorkerScaler {
  private current: number;
  private idleSince: number | undefined;

  constructor(
    private spec: WorkersSpec,
    private readonly idleMs = 2000,
  ) {
    this.current = spec.min;
  }

  get workers(): number {
    return this.current;
  }

  /** Fixes the count at `workers` from now on (`jobrun scale -j`); true when it changed. */
  fix(workers: number): boolean {
    const before = this.current;
    this.spec = { min: workers, max: workers };
    this.current = workers;
    this.idleSince = undefined;
    return this.current !== before;
  }

  /**
   * Recomputes the worker count. Returns the new count when it changed, else undefined.
   * `ready` counts jobs that could start now, `running` the jobs in flight.
   */
  update(ready: number, running: number, now: number): number | undefined {
    const before = this.current;
    if (ready > 0 && running + ready > this.current) {
      this.current = Math.min(this.spec.max, running + ready);
      this.idleSince = undefined;
    } else if (running < this.current && ready === 0 && this.spec.max > this.spec.min) {
      this.idleSince ??= now;
      if (now - this.idleSince >= this.idleMs) {
        this.current = Math.max(this.spec.min, running);
        this.idleSince = undefined;
      }
    } else {
      this.idleSince = undefined;
    }
    return this.current === before ? undefined : this.current;
  }

  /** Milliseconds until a pending shrink would take effect, if one is pending. */
  shrinkDueIn(now: number): number | undefined {
    return this.idleSince === undefined
      ? undefined
      : Math.max(0, this.idleSince + this.idleMs - now);
  }
}
