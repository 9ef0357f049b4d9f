import path from 'node:path';
import { Command, Option } from 'commander';
import { badPoolName } from '../backends/redis-names.js';
import { parseRedisUrl } from '../backends/redis-url.js';
import { UsageError } from '../errors.js';
import { createExecutor } from '../exec/choose-executor.js';
import { parseDuration } from '../manifest/duration.js';
import { parseCount, parseSpawner } from './options.js';
import { resolveRedisUrl } from './redis-url-source.js';
import { STATE_DIR, gateOptions } from './run.js';

interface WorkerFlags {
  workers?: string;
  pool?: string[];
  metricsPort?: string;
  metricsHost?: string;
  lockDuration?: string;
  logs?: string;
  redisUrlFile?: string;
  delay?: string;
  maxLoad?: string;
  minFreeMem?: string;
  spawner?: string;
}

const EXAMPLES = `
Examples:
  $ jobrun worker redis://127.0.0.1:6379 -j 8             jobs without a pool
  $ JOBRUN_REDIS_URL=redis://:secret@queue:6379 jobrun worker --pool cpu
  $ jobrun worker --redis-url-file /etc/jobrun/redis.url --pool '*' --max-load 6

Pass a password in JOBRUN_REDIS_URL or --redis-url-file, never on the command line
(ps shows it to everyone); jobs do not inherit JOBRUN_REDIS_URL.
SIGTERM or Ctrl-C drains: no new jobs, running ones finish, then exit 0.
A second signal (or SIGHUP) kills running jobs' process groups and exits at once;
their jobs go back to the queue.`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds `jobrun worker` to the program. */
export function addWorkerCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('worker')
    .description('serve jobs of Redis-backed runs (jobrun run --backend redis://…) on this machine')
    .argument(
      '[redis-url]',
      'redis://[user:pass@]host:port[/db], or rediss:// for TLS (default: $JOBRUN_REDIS_URL)',
    )
    .option('--redis-url-file <file>', 'read the Redis URL (with its password) from this file')
    .option('-j, --workers <n>', 'jobs at once on this worker, all pools together (default: 1)')
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
    .option('--delay <duration>', 'wait this long between job starts on this worker')
    .option('--max-load <n>', 'start nothing while this machine’s 1-minute load is above n')
    .option('--min-free-mem <size>', 'start nothing while this machine has less free memory')
    .addOption(
      new Option('--spawner <kind>', 'how jobs start (env JOBRUN_SPAWNER; default: auto)').choices([
        'auto',
        'helper',
        'child',
      ]),
    )
    .addHelpText('after', EXAMPLES)
    .action(async (url: string | undefined, flags: WorkerFlags) => {
      setExit(await workerCommand(url, flags));
    });
}

/** Runs a worker until it is drained by a signal; returns the exit code. */
async function workerCommand(url: string | undefined, flags: WorkerFlags): Promise<number> {
  const say = (line: string) => process.stderr.write(`jobrun worker: ${line}\n`);
  const target = parseRedisUrl(resolveRedisUrl(url, flags.redisUrlFile, say, '<redis-url>'));
  const spawner = parseSpawner(flags.spawner);
  const concurrency = flags.workers === undefined ? 1 : parseCount(flags.workers, '-j');
  if (concurrency < 1) throw new UsageError('-j must be at least 1');
  const names = (flags.pool ?? [])
    .flatMap((p) => p.split(','))
    .map((p) => p.trim())
    .filter(Boolean);
  const pools = names.includes('*') ? '*' : names;
  for (const name of pools === '*' ? [] : names) {
    const bad = badPoolName(name);
    if (bad) throw new UsageError(`--pool: ${bad}`);
  }
  const gate = gateOptions(flags); // checked on this machine before each start
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
    gate,
    metrics,
    log: say,
  });
  const server =
    metricsPort === undefined
      ? undefined
      : await serveMetrics(metrics, () => !w.draining, metricsPort, flags.metricsHost);

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
      (server ? `; metrics on ${server.url}/metrics` : ''),
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
