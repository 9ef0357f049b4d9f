import { InvalidArgumentError, Option, type Command } from 'commander';
import { CANCEL_BATCH } from '../../control/limits.js';
import type { ControlRequest } from '../../control/protocol.js';
import { findRun, requireRun } from '../../control/registry.js';
import type { CancelOutcome } from '../../core/steering.js';
import { UsageError } from '../../errors.js';
import { clean } from '../../reporters/text.js';
import { reachOptions, type ReachValues } from '../flags/operate-flags.js';
import { count, WORKER_CAP } from '../flags/values.js';
import { reachRuns, type Reach } from './reach.js';

const RUN_HELP = `
RUN is a run id (or a unique start of one) or jobrun's pid, as jobrun ps shows;
it may be left out when only one run is live. With --backend redis://… (or
--backend redis and JOBRUN_REDIS_URL) the runs are those on that Redis, reached
from any machine: anyone who can reach the Redis can steer its runs.`;

/** Adds `ps`, `watch`, `logs`, `pause`, `unpause`, `scale`, `cancel` and `drain`. */
export function addOperateCommands(program: Command, setExit: (code: number) => void): void {
  program
    .command('ps')
    .description('list your live runs: id, pid, counts by state, workers, manifest, folder')
    .option('--json', 'print them as a JSON array')
    .addHelpText(
      'after',
      '\nExamples:\n  $ jobrun ps\n  $ JOBRUN_REDIS_URL=redis://queue:6379 jobrun ps --backend redis',
    )
    .action(async (flags: { json?: boolean } & ReachValues) => {
      const { psCommand } = await import('./ps.js');
      await withReach(flags, (reach) => psCommand(reach, Boolean(flags.json)));
    });

  program
    .command('watch')
    .description("follow a live run's progress here; exits with the run's exit code")
    .argument('[run]', 'the run (see below)')
    .option('--json', 'print its events as NDJSON on stdout')
    .addOption(
      new Option('--progress <mode>', 'how to show progress')
        .choices(['auto', 'tty', 'plain'])
        .default('auto'),
    )
    .addHelpText(
      'after',
      `${RUN_HELP}\n\nExamples:\n  $ jobrun watch || echo "the batch failed"\n  $ JOBRUN_REDIS_URL=redis://queue:6379 jobrun watch --backend redis`,
    )
    .action(
      async (
        run: string | undefined,
        flags: { json?: boolean; progress: 'auto' } & ReachValues,
      ) => {
        const { watchCommand } = await import('./watch.js');
        setExit(await watchCommand(run, { ...flags, json: Boolean(flags.json) }));
      },
    );

  program
    .command('logs')
    .description("print a job's output so far (its latest attempt); -f follows it")
    .usage('[options] [RUN] JOB')
    .argument('<job...>', 'the job, after the run if given (see below)')
    .option('-f, --follow', 'keep printing what the job writes until it ends')
    .addHelpText('after', `${RUN_HELP}\n\nExample:\n  $ jobrun logs encode-42 -f`)
    .action(async (args: string[], flags: { follow?: boolean }) => {
      const { logsCommand } = await import('./logs.js');
      setExit(await logsCommand(args, Boolean(flags.follow)));
    });

  for (const verb of ['pause', 'unpause'] as const) {
    program
      .command(verb)
      .description(
        verb === 'pause'
          ? 'start no more jobs (of one pool with --pool); running jobs go on'
          : 'start jobs again after pause',
      )
      .argument('[run]', 'the run (see below)')
      .option('--pool <pool>', `${verb} only this pool (one the run has)`)
      .addHelpText('after', `${RUN_HELP}\n\nExample:\n  $ jobrun ${verb} --pool gpu`)
      .action(async (run: string | undefined, flags: { pool?: string } & ReachValues) => {
        await askRun(run, flags, { verb, pool: flags.pool });
      });
  }

  program
    .command('scale')
    .description("change the number of workers, or a pool's limit, of a live run")
    .argument('[run]', 'the run (see below)')
    .option('-j, --workers <n>', 'jobs at once from now on', count(1, WORKER_CAP))
    .option(
      '--pool <pool=n>',
      "a pool's limit from now on (one the run has); repeatable",
      poolLimit,
      {},
    )
    .addHelpText(
      'after',
      `${RUN_HELP}\nScaling down lets running jobs finish; fewer start after them. On Redis, -j N is\nthe most of the run's jobs at once across all its workers, --pool P=N the\npool's limit across all workers (as pools.P.workers).\n\nExamples:\n  $ jobrun scale -j 8\n  $ jobrun scale --pool gpu=1\n  $ jobrun scale --backend redis -j 2`,
    )
    .action(
      async (
        run: string | undefined,
        flags: { workers?: number; pool: Record<string, number> } & ReachValues,
      ) => {
        const pools = Object.keys(flags.pool).length ? flags.pool : undefined;
        if (flags.workers === undefined && pools === undefined)
          throw new UsageError('scale needs -j N or --pool P=N');
        await askRun(run, flags, { verb: 'scale', workers: flags.workers, pools });
      },
    );

  program
    .command('cancel')
    .description('cancel jobs of a live run: waiting ones at once, running ones are stopped')
    .usage('[options] [RUN] JOB...')
    .argument('<jobs...>', 'the jobs, after the run if given (see below)')
    .option('--json', 'print what became of each job as JSON')
    .addHelpText(
      'after',
      `${RUN_HELP}\nA first argument that names no live run is a job. Cancelled jobs end\n"cancelled" and are not retried. A name that starts with - goes after --.\n\nExamples:\n  $ jobrun cancel 4711 encode-3 encode-9\n  $ jobrun cancel 4711 -- -x`,
    )
    .action(async (args: string[], flags: { json?: boolean } & ReachValues) => {
      const outcome = await withReach(flags, async ({ runs, where }) => {
        const named = args.length > 1 ? findRun(args[0], runs, where) : undefined;
        const run = named ?? requireRun(undefined, runs, where);
        const jobs = named ? args.slice(1) : args;
        const outcome: CancelOutcome = { cancelled: [], stopping: [], unknown: [] };
        for (let i = 0; i < jobs.length; i += CANCEL_BATCH) {
          const batch = jobs.slice(i, i + CANCEL_BATCH);
          const part = (await run.ask({ verb: 'cancel', jobs: batch })) as unknown as CancelOutcome;
          for (const key of ['cancelled', 'stopping', 'unknown'] as const)
            outcome[key].push(...part[key]);
        }
        return outcome;
      });
      if (flags.json) process.stdout.write(JSON.stringify(outcome) + '\n');
      else {
        const say = (what: string, names: string[]) =>
          names.length && process.stderr.write(`jobrun: ${what}: ${names.map(clean).join(', ')}\n`);
        say('cancelled', outcome.cancelled);
        say('stopping (they end cancelled)', outcome.stopping);
        say('no such job waiting or running', outcome.unknown);
      }
      if (outcome.unknown.length) setExit(1);
    });

  program
    .command('drain')
    .description('start nothing more, let running jobs finish, cancel the rest and end the run')
    .argument('[run]', 'the run (see below)')
    .addHelpText(
      'after',
      `${RUN_HELP}\nThe rest end "cancelled" (reason "drained"); the report is written.\n\nExample:\n  $ jobrun drain && jobrun watch`,
    )
    .action(async (run: string | undefined, flags: ReachValues) => {
      await askRun(run, flags, { verb: 'drain' });
    });

  // reached through Redis too: every command but logs (job output is on the workers)
  for (const cmd of program.commands) {
    if (['ps', 'watch', 'pause', 'unpause', 'scale', 'cancel', 'drain'].includes(cmd.name()))
      for (const option of reachOptions()) cmd.addOption(option);
    if (cmd.name() === 'logs')
      cmd.addOption(
        new Option('--backend <url>', 'not through Redis: job output is on the workers').argParser(
          () => {
            throw new UsageError(
              'jobrun logs does not work through Redis: job output is kept on the workers that ran the job (its --logs folder there)',
            );
          },
        ),
      );
  }
}

/** Runs `use` with the runs `flags` reach, and lets go of Redis afterwards. */
async function withReach<T>(flags: ReachValues, use: (reach: Reach) => Promise<T>): Promise<T> {
  const reach = await reachRuns(flags);
  try {
    return await use(reach);
  } finally {
    reach.close();
  }
}

/** Sends `request` to the run `arg` names (or the only one) among those `flags` reach. */
function askRun(
  arg: string | undefined,
  flags: ReachValues,
  request: ControlRequest,
): Promise<Record<string, unknown>> {
  return withReach(flags, ({ runs, where }) => requireRun(arg, runs, where).ask(request));
}

/** `--pool gpu=2`, repeatable. */
function poolLimit(text: string, previous: Record<string, number>): Record<string, number> {
  const eq = text.lastIndexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('use pool=n, e.g. --pool gpu=2');
  return { ...previous, [text.slice(0, eq)]: count(0, WORKER_CAP)(text.slice(eq + 1)) };
}
