import path from 'node:path';
import { createExecutor } from '../exec/choose-executor.js';
import type { WorkerOptions } from './flags/worker.js';
import { spawnerFallbackNotice } from './notices.js';
import { STATE_DIR } from './run.js';
import type { WorkerMetrics } from '../backends/metrics.js';

/** Runs a worker until it is drained by a signal; returns the exit code. */
export async function serveWorker(options: WorkerOptions): Promise<number> {
  const say = (line: string) => process.stderr.write(`jobrun worker: ${line}\n`);
  const { target, concurrency, pools, metricsPort } = options;
  // loaded here, not at the top: `jobrun run` should not pay for BullMQ's import
  const { checkRedis } = await import('../backends/redis-connect.js');
  const { JobrunWorker } = await import('../backends/redis-worker.js');
  // prom-client and the per-job counting only when something can read them
  const exported = metricsPort === undefined ? undefined : await import('../backends/metrics.js');
  const { WorkerCache } = await import('../backends/worker-cache.js');
  await checkRedis(target);

  // the gauge reads queue depth only when scraped, after `w` exists
  const metrics: WorkerMetrics | undefined =
    exported && new exported.WorkerMetrics(() => w.depth());
  // as a local run's default, in this worker's folder: the cache is this machine's
  const cacheDir = path.resolve(options.cacheDir ?? path.join(STATE_DIR, 'cache'));
  const w = new JobrunWorker({
    target,
    concurrency,
    pools,
    logRoot: path.resolve(options.logs ?? path.join(STATE_DIR, 'logs')),
    executor: createExecutor(options.spawner, (why) => say(spawnerFallbackNotice(why))),
    baseDir: process.cwd(),
    lockDurationMs: options.lockDurationMs,
    stallCheckMs: options.stallCheckMs,
    poolCaps: options.poolCaps,
    gate: options.gate,
    metrics,
    log: say,
    cache: options.cache
      ? new WorkerCache({
          dir: cacheDir,
          maxBytes: options.cacheMaxBytes,
          baseDir: process.cwd(),
          log: say,
        })
      : undefined,
  });
  const server =
    metricsPort === undefined || !exported || !metrics
      ? undefined
      : await exported.serveMetrics(metrics, () => !w.draining, metricsPort, options.metricsHost);

  // whatever ends this process, no job process group outlives it (and later runs twice)
  process.on('exit', () => w.killAll());
  let signals = 0;
  let code = 0;
  const done = new Promise<void>((resolve) => {
    const stopNow = (signal: NodeJS.Signals, exitCode: number) => {
      code = exitCode;
      w.killAll();
      say(`${signal}: killed running jobs; they go back to the queue`);
      // bounded: a dead Redis must not keep a stopping worker alive
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      void w.close(true).then(() => {
        clearTimeout(timer);
        resolve();
      });
    };
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signal === 'SIGHUP') return stopNow(signal, 129);
      if (signals === 1) {
        say(`${signal}: draining (running jobs finish, no new ones); again to stop them now`);
        void w.close().then(resolve);
      } else {
        stopNow(signal, signal === 'SIGINT' ? 130 : 143);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  });
  await w.start();
  const serving =
    pools === '*'
      ? "every pool ('*')"
      : pools.length
        ? `pools ${pools.join(', ')}`
        : 'jobs without a pool';
  say(
    `serving ${serving} from ${target.safe}, ${concurrency} at once` +
      (server ? `; metrics on ${server.url}/metrics` : '') +
      (options.cache ? `; cache in ${cacheDir}` : '; no cache'),
  );
  await done;
  if (code !== 0) {
    // forced: what is left (reconnecting sockets, BullMQ timers) must not hold the exit
    say('stopped');
    process.exit(code);
  }
  await server?.close();
  say('stopped');
  return code;
}

/** How long a forced stop waits for Redis connections to close before exiting anyway. */
const CLOSE_WAIT_MS = 3000;
