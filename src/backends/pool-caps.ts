/** Re-runs of a job lost with its worker when the manifest says nothing (`lost_retries`). */
export const DEFAULT_LOST_RETRIES = 1;

/**
 * Per-worker pool caps: at most `cap` of a pool's jobs at once on this worker, beside
 * the worker's `-j` (all pools together) and the pool's `workers` (every worker
 * together, held by BullMQ's global concurrency). A cap comes from the worker's
 * command line (`--pool cpu=1`) and from the manifest (`pools.cpu.per_worker`, carried
 * in each job's payload); the smaller one holds.
 */
export class PoolCaps {
  private readonly used = new Map<string, number>();
  private readonly waiting = new Map<string, Array<() => void>>();

  constructor(private readonly fromCommandLine: Readonly<Record<string, number>> = {}) {}

  /** This worker's cap on `pool` (Infinity: none). */
  capOf(pool: string, fromManifest: number | undefined): number {
    return Math.min(this.fromCommandLine[pool] ?? Infinity, fromManifest ?? Infinity);
  }

  /** Resolves once fewer than `cap` of the pool's jobs hold a place here, and takes one. */
  async acquire(pool: string, cap: number): Promise<void> {
    while ((this.used.get(pool) ?? 0) >= cap) {
      await new Promise<void>((resolve) => {
        const queue = this.waiting.get(pool) ?? [];
        queue.push(resolve);
        this.waiting.set(pool, queue);
      });
    }
    this.used.set(pool, (this.used.get(pool) ?? 0) + 1);
  }

  release(pool: string): void {
    this.used.set(pool, (this.used.get(pool) ?? 1) - 1);
    this.waiting.get(pool)?.shift()?.();
  }
}
