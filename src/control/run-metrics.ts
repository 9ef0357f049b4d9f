import type { WorkerMetrics } from '../backends/metrics.js';
import type { RunEvent } from '../model/events.js';
import type { Reporter } from '../reporters/types.js';

/**
 * `jobrun run --metrics-port`: the worker's Prometheus metrics (attempts started,
 * succeeded, failed, their durations, jobs active and queue depth, by pool), fed
 * from the run's events, and `/healthz` (ok until the run ends).
 */
export class RunMetrics implements Reporter {
  /**
   * Loaded when serving starts, before any job does: prom-client (and what it loads)
   * stays out of runs without `--metrics-port`, which keeps jobrun small, and a smaller
   * process forks faster for every job under `--spawner child`.
   */
  private metrics: WorkerMetrics | undefined;
  /** Pool of every job that has not ended; `default` for pool-less jobs, as on a worker. */
  private readonly pools = new Map<string, string>();
  private readonly waiting = new Set<string>();
  private ended = false;

  /** Starts serving; returns the URL (the port may have been picked). */
  async serve(host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
    const { WorkerMetrics, serveMetrics } = await import('../backends/metrics.js');
    const metrics = new WorkerMetrics(() => Promise.resolve(this.depths()));
    this.metrics = metrics;
    return serveMetrics(metrics, () => !this.ended, port, host);
  }

  onEvent(e: RunEvent): void {
    switch (e.type) {
      case 'job_queued':
        this.pools.set(e.id, e.pool ?? 'default');
        this.waiting.add(e.id);
        break;
      case 'job_retry':
        this.waiting.add(e.id);
        break;
      case 'job_start':
        this.waiting.delete(e.id);
        this.metrics?.attemptStarted(this.pool(e.id));
        break;
      case 'attempt_end':
        this.metrics?.attemptEnded(this.pool(e.id), e.result);
        break;
      case 'job_end':
        this.waiting.delete(e.job.id);
        this.pools.delete(e.job.id);
        break;
      case 'run_end':
        this.ended = true;
        break;
      default:
        break;
    }
  }

  private pool(id: string): string {
    return this.pools.get(id) ?? 'default';
  }

  private depths(): Array<{ pool: string; depth: number }> {
    const byPool = new Map<string, number>();
    for (const pool of this.pools.values()) byPool.set(pool, byPool.get(pool) ?? 0);
    for (const id of this.waiting) byPool.set(this.pool(id), (byPool.get(this.pool(id)) ?? 0) + 1);
    return [...byPool].map(([pool, depth]) => ({ pool, depth }));
  }
}
