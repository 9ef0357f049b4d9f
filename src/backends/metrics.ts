import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptResult } from '../model/attempt.js';
import { attemptSucceeded } from '../model/attempt.js';

/** A worker's Prometheus metrics. Pools are labelled by name; `default` for pool-less jobs. */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly started: Counter;
  private readonly succeeded: Counter;
  private readonly failed: Counter;
  private readonly duration: Histogram;
  private readonly active: Gauge;
  private readonly lockLost: Counter;

  constructor(queueDepth: () => Promise<Array<{ pool: string; depth: number }>>) {
    const registers = [this.registry];
    this.started = new Counter({
      name: 'jobrun_jobs_started_total',
      help: 'Attempts started by this worker',
      labelNames: ['pool'],
      registers,
    });
    this.succeeded = new Counter({
      name: 'jobrun_jobs_succeeded_total',
      help: 'Attempts that exited 0',
      labelNames: ['pool'],
      registers,
    });
    this.failed = new Counter({
      name: 'jobrun_jobs_failed_total',
      help: 'Attempts that failed, timed out or could not start',
      labelNames: ['pool'],
      registers,
    });
    this.duration = new Histogram({
      name: 'jobrun_job_duration_seconds',
      help: 'Duration of attempts',
      labelNames: ['pool', 'status'],
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
      registers,
    });
    this.active = new Gauge({
      name: 'jobrun_jobs_active',
      help: 'Attempts running on this worker now',
      labelNames: ['pool'],
      registers,
    });
    this.lockLost = new Counter({
      name: 'jobrun_attempts_lock_lost_total',
      help: 'Attempts stopped because this worker lost their lock (another worker may run them again)',
      labelNames: ['pool'],
      registers,
    });
    new Gauge({
      name: 'jobrun_queue_depth',
      help: 'Jobs waiting (or delayed for a retry) in the queues this worker serves',
      labelNames: ['pool'],
      registers,
      async collect() {
        for (const { pool, depth } of await queueDepth().catch(() => [])) this.set({ pool }, depth);
      },
    });
  }

  attemptStarted(pool: string): void {
    this.started.inc({ pool });
    this.active.inc({ pool });
  }

  /** An attempt at-least-once may run twice: its lock lapsed while it ran here. */
  attemptLockLost(pool: string): void {
    this.lockLost.inc({ pool });
  }

  attemptEnded(pool: string, result: AttemptResult): void {
    this.active.dec({ pool });
    const ok = attemptSucceeded(result);
    (ok ? this.succeeded : this.failed).inc({ pool });
    const status = ok ? 'succeeded' : result.timedOut ? 'timed_out' : 'failed';
    this.duration.observe({ pool, status }, result.durationMs / 1000);
  }
}

/**
 * Serves `/metrics` (Prometheus text) and `/healthz` (`ok` while the worker serves).
 * Binds to 127.0.0.1 unless told otherwise: metrics name commands' pools, not secrets,
 * but nothing should listen on every interface by surprise.
 */
export async function serveMetrics(
  metrics: WorkerMetrics,
  healthy: () => boolean,
  port: number,
  host = '127.0.0.1',
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        })
        .catch(() => {
          res.writeHead(500).end('metrics unavailable\n');
        });
    } else if (path === '/healthz') {
      const ok = healthy();
      res
        .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
        .end(ok ? 'ok\n' : 'draining\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
