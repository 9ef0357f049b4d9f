/**
 * What a user changes in a running batch from outside (`jobrun pause`, `scale --pool`):
 * whether new jobs may start at all or in one pool, and pool limits set live. The
 * scheduler consults it before each start; running jobs are never touched here, so
 * lowering a limit or pausing lets them finish.
 */
export class Steering {
  private paused = false;
  private readonly pausedPools = new Set<string>();
  private readonly poolLimits = new Map<string, number>();

  /** `pools`: the run's own; a pool it does not have is refused, not created. */
  constructor(private readonly pools: readonly string[]) {}

  /** No job of any pool may start. */
  get holding(): boolean {
    return this.paused;
  }

  /** Throws for a pool the run does not have (before anything is changed). */
  checkPools(pools: readonly string[]): void {
    refuseUnknownPools(this.pools, pools);
  }

  /** Pauses the run, or only `pool`. */
  pause(pool?: string): void {
    if (pool === undefined) this.paused = true;
    else {
      this.checkPools([pool]);
      this.pausedPools.add(pool);
    }
  }

  /** Unpauses the run, or only `pool`; unpausing the run clears every pool's pause too. */
  unpause(pool?: string): void {
    if (pool !== undefined) {
      this.checkPools([pool]);
      this.pausedPools.delete(pool);
      return;
    }
    this.paused = false;
    this.pausedPools.clear();
  }

  setPoolLimit(pool: string, limit: number): void {
    this.checkPools([pool]);
    this.poolLimits.set(pool, limit);
  }

  /** `pool`'s limit now: 0 while it is paused, else the live limit, else `base`. */
  poolLimit(pool: string, base: number): number {
    if (this.pausedPools.has(pool)) return 0;
    return this.poolLimits.get(pool) ?? base;
  }

  /** What `jobrun ps` shows of it. */
  state(): { paused: boolean; pausedPools: string[]; poolLimits: Record<string, number> } {
    return {
      paused: this.paused,
      pausedPools: [...this.pausedPools],
      poolLimits: Object.fromEntries(this.poolLimits),
    };
  }
}

/**
 * Throws when `asked` names a pool not among `known`: pausing or scaling it would
 * change nothing that runs, and `jobrun ps` would show a pool the run does not have.
 */
export function refuseUnknownPools(known: readonly string[], asked: readonly string[]): void {
  const unknown = asked.filter((p) => !known.includes(p));
  if (unknown.length)
    throw new Error(`this run has no pool ${unknown.map((p) => `"${p}"`).join(', ')}`);
}

/** The verbs a running batch obeys; the control socket is their only caller. */
export interface RunControls {
  /**
   * Throws for a pool the run does not have, as `unpause` and `scale` do. A backend
   * that must tell its workers resolves once none of them starts a paused job.
   */
  pause(pool?: string): void | Promise<void>;
  unpause(pool?: string): void | Promise<void>;
  /**
   * Sets the worker count and/or pools' limits; false when the backend cannot. A
   * backend that must tell its workers answers once they can see the change.
   */
  scale(change: { workers?: number; pools?: Record<string, number> }): boolean | Promise<boolean>;
  /** Cancels every job named so; returns what became of each name. */
  cancel(names: string[]): CancelOutcome;
  /** Starts nothing more, lets running jobs finish, cancels the rest as "drained". */
  drain(): void;
  steering(): ReturnType<Steering['state']>;
}

export interface CancelOutcome {
  /** Jobs that were waiting and are now cancelled. */
  cancelled: string[];
  /** Running jobs being stopped; they end cancelled. */
  stopping: string[];
  /** Names of no job that has not ended. */
  unknown: string[];
}

export const CANCELLED_BY_USER = 'cancelled by jobrun cancel';
export const DRAINED = 'drained';
