import path from 'node:path';
import { Command, Option } from 'commander';
import { parseRedisUrl } from '../backends/redis-url.js';
import { UsageError } from '../errors.js';
import { parseDuration } from '../manifest/duration.js';
import { createExecutor } from '../exec/choose-executor.js';
import { parseCount, parseSpawner } from './options.js';
import { STATE_DIR } from './run.js';

export interface WorkerFlags {
  workers?: string;
  pool?: string[];
  metricsPort?: string;
  metricsHost?: string;
  lockDuration?: string;
  logs?: string;
  spawner?: string;
}

const EXAMPLES = `
Examples:
  $ jobrun worker redis://127.0.0.1:6379 -j 8             jobs without a pool
  $ jobrun worker redis://:secret@queue:6379 --pool cpu    only the cpu pool
  $ jobrun worker rediss://queue:6380 --pool '*' --metrics-port 9464

SIGTERM or Ctrl-C drains: no new jobs, running ones finish, then exit 0.
A second signal kills running jobs; BullMQ hands them to another worker.`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds `jobrun worker` to the program. */
export function addWorkerCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('worker')
    .description('serve jobs of Redis-backed runs (jobrun run --backend redis://…) on this machine')
    .argument('<redis-url>', 'redis://[user:pass@]host:port[/db], or rediss:// for TLS')
    .option('-j, --workers <n>', 'jobs at once from each queue served (default: 1)')
    .option(
      '--pool <name…>',
      "pools to serve (repeatable, or a,b); '*' serves every queue",
      collect,
    )
    .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port')
    .option('--metrics-host <host>', 'address for the metrics server (default: 127.0.0.1)')
    .option(
      '--lock-duration <duration>',
      "how soon a dead worker's job goes to another (default: 30s)",
    )
    .option('--logs <dir>', 'folder for job logs (default: .jobrun/logs/<run>)')
    .addOption(
      new Option('--spawner <kind>', 'how jobs start (env JOBRUN_SPAWNER; default: auto)').choices([
        'auto',
        'helper',
        'child',
      ]),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (url: string, flags: WorkerFlags) => {
      setExit(await workerCommand(url, flags));
    });
}

/** Runs a worker until it is drained by a signal; returns the exit code. */
export async function workerCommand(url: string, flags: WorkerFlags): Promise<number> {
  const target = parseRedisUrl(url);
  const spawner = parseSpawner(flags.spawner);
  const concurrency = flags.workers === undefined ? 1 : parseCount(flags.workers, '-j');
  if (concurrency < 1) throw new UsageError('-j must be at least 1');
  const names = (flags.pool ?? [])
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  const pools = names.includes('*') ? '*' : names;
  const metricsPort =
    flags.metricsPort === undefined ? undefined : parseCount(flags.metricsPort, '--metrics-port');
  if (metricsPort !== undefined && metricsPort > 65535)
    throw new UsageError('--metrics-port must be at most 65535');
  let lockDurationMs: number | undefined;
  if (flags.lockDuration !== undefined) {
    try {
      lockDurationMs = parseDuration(flags.lockDuration, '--lock-duration');
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    if (lockDurationMs < 1000) throw new UsageError('--lock-duration must be at least 1s');
  }
  // loaded here, not at the top: `jobrun run` should not pay for BullMQ's import
  const { checkRedis } = await import('../backends/redis-connect.js');
  const { JobrunWorker } = await import('../backends/redis-worker.js');
  const { WorkerMetrics, serveMetrics } = await import('../backends/metrics.js');
  await checkRedis(target);

  const say = (line: string) => process.stderr.write(`jobrun worker: ${line}\n`);
  // the gauge reads queue depth only when scraped, after `w` exists
  const metrics: InstanceType<typeof WorkerMetrics> = new WorkerMetrics(() => w.depth());
  const w = new JobrunWorker({
    target,
    concurrency,
    pools,
    logRoot: path.resolve(flags.logs ?? path.join(STATE_DIR, 'logs')),
    executor: createExecutor(spawner),
    baseDir: process.cwd(),
    lockDurationMs,
    metrics,
    log: say,
  });
  const server =
    metricsPort === undefined
      ? undefined
      : await serveMetrics(metrics, () => !w.draining, metricsPort, flags.metricsHost);

  let signals = 0;
  let code = 0;
  const done = new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        say(`${signal}: draining (running jobs finish, no new ones); again to stop them now`);
        void w.close().then(resolve);
      } else {
        code = signal === 'SIGINT' ? 130 : 143;
        say(`${signal}: stopping running jobs; they go back to the queue`);
        void w.close(true).then(resolve);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await w.start();
  const serving =
    pools === '*'
      ? "every pool ('*')"
      : pools.length
        ? `pools ${pools.join(', ')}`
        : 'jobs without a pool';
  say(
    `serving ${serving} from ${target.safe}, ${concurrency} at once per queue` +
      (server ? `; metrics on ${server.url}/metrics` : ''),
  );
  await done;
  await server?.close();
  say('stopped');
  return code;
}
