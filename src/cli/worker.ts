import type { Command } from 'commander';
import { checked } from './flags/shared.js';
import { addWorkerOptions, workerOptions, type WorkerValues } from './flags/worker.js';

const EXAMPLES = `
Examples:
  $ jobrun worker redis://127.0.0.1:6379 -j 8             jobs without a pool
  $ JOBRUN_REDIS_URL=redis://:secret@queue:6379 jobrun worker --pool cpu
  $ jobrun worker --redis-url-file /etc/jobrun/redis.url --pool '*' --max-load 6
  $ jobrun worker redis://127.0.0.1:6379 -j 8 --pool cpu=1,net
                              (at most one cpu job at a time on this worker)
  $ jobrun worker --cache-dir /shared/jobrun-cache --cache-max 20G
                              (jobs with cache: true are looked up and stored
                              there; default: .jobrun/cache in this folder)

Pass a password in JOBRUN_REDIS_URL or --redis-url-file, never on the command
line (ps shows it to everyone); jobs do not inherit JOBRUN_REDIS_URL.
SIGTERM or Ctrl-C drains: no new jobs, running ones finish, then exit 0.
A second signal (or SIGHUP) kills running jobs' process groups and exits at
once; their jobs go back to the queue. A job whose lock this worker cannot
renew for --lock-duration (Redis unreachable, or the worker was frozen) is
stopped.`;

/** Adds `jobrun worker` to the program. */
export function addWorkerCommand(program: Command, setExit: (code: number) => void): void {
  const worker = program
    .command('worker')
    .description('serve jobs of Redis-backed runs (jobrun run --backend redis://…) on this machine')
    .argument(
      '[redis-url]',
      'redis://[user:pass@]host:port[/db], or rediss:// for TLS (default: $JOBRUN_REDIS_URL)',
    )
    .addHelpText('after', EXAMPLES)
    .action(async (url: string | undefined, values: WorkerValues, cmd: Command) => {
      const options = checked(cmd, () => workerOptions(url, values));
      const { serveWorker } = await import('./serve-worker.js');
      setExit(await serveWorker(options));
    });
  addWorkerOptions(worker);
}
