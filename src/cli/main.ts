import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { addRetryOptions, addRunOptions, type RunValues } from './flags/run-flags.js';
import { runOptions } from './flags/run-options.js';
import { checked, cleanOptions, forgetBlankEnv } from './flags/shared.js';
import { helpWidth } from './flags/help-groups.js';
import { JobrunError, ManifestError } from '../errors.js';
import { rawArgs } from './raw-argv.js';
import { missingDashHint } from './dash-hint.js';
import { parallelFlagHint } from './parallel-flags.js';
import { redisFlagHint } from './redis-flag-hint.js';
import { DEFAULT_KEEP_RUNS } from './retention.js';
import { addWorkerCommand } from './worker.js';
import { addOperateCommands } from './operate/commands.js';
import { takeRedisUrlFromEnv } from './redis-url-source.js';
import {
  finishExit,
  holdingStops,
  installProcessGuards,
  outputWriteError,
  releaseStops,
} from './shutdown.js';
import type { CleanFlags } from './clean.js';
import type { ExplainFlags } from './explain.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

const RUN_EXAMPLES = `
Examples:
  $ jobrun run jobs.yaml                        run a manifest
  $ jobrun run jobs.yaml --dry-run              print the plan, run nothing
  $ jobrun run --glob '*.txt' -- wc -l {}       one job per file
  $ find . -name '*.log' | jobrun run --stdin -- gzip -9 {}
  $ jobrun run -j 8 -- echo {1} {2} ::: a b ::: x y   every combination
  $ jobrun run --glob '*.txt' -- 'wc -l {} > {.}.count'   a shell line
  $ find . -type f -print0 | jobrun run --stdin -0 -- wc -c {}   NUL-separated
  $ jobrun run --stdin --csv -- useradd -c {comment} {login} < users.csv
  $ seq 10 | jobrun run --stdin -n 3 -- echo    three items per job
  $ jobrun run jobs.yaml --retries 2 --timeout 5m
  $ jobrun run jobs.yaml --json | jq '.jobs[] | select(.status != "succeeded")'
  $ jobrun run jobs.yaml --backend redis        on workers, via JOBRUN_REDIS_URL
  $ jobrun run jobs.yaml --graceful 5m          Ctrl-C lets running jobs finish
  $ jobrun run jobs.yaml --metrics-port 9464    Prometheus metrics, /healthz
  $ jobrun run jobs.yaml --explain              say why cached jobs run again
  $ jobrun run -k --tag -- wc -l ::: a.txt b.txt   lines tagged with the job
  $ jobrun run --bar --glob '*.png' -- optipng {}   one line of progress

After --, one argument is a shell command line (bash when installed, else
/bin/sh); several are a program and its arguments, run without a shell.
Placeholders ({} {.} {/} {//} {/.} {#} {1}…{n} {name} {file} {stem} …) are
quoted for where they stand (a bare word, '…', "…" or $(…)), so each item
reaches the program exactly; backticks, \${…} and here-documents are refused.
Without a placeholder, the item is appended as the last argument. ::: values
and :::: files (- is stdin) after the command are input sources, as in GNU
parallel.`;

/** Builds the commander program. `rest` is what followed `--` on the command line. */
export function buildProgram(rest: string[], setExit: (code: number) => void): Command {
  const program = new Command('jobrun')
    .description(
      'Run batches of shell jobs across workers, with priorities, timeouts, retries and honest reports.',
    )
    .version(version)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ jobrun run jobs.yaml                         run a manifest
  $ jobrun run --glob '*.log' -- gzip -9 {}      one job per file
  $ jobrun validate jobs.yaml                    check a manifest, run nothing
  $ jobrun run --help                            every option of run
  $ jobrun ps                                    live runs (then watch, drain …)

Exit codes: 0 all succeeded, 1 a job failed, 2 usage or manifest error,
130/143/129/131 stopped by SIGINT/SIGTERM/SIGHUP/SIGQUIT, 141 stdout closed,
70 internal error.`,
    )
    .exitOverride()
    .configureOutput({
      getOutHelpWidth: () => helpWidth(process.stdout),
      getErrHelpWidth: () => helpWidth(process.stderr),
    })
    .hook('preSubcommand', () => forgetBlankEnv());

  const run = program
    .command('run')
    .description('run a manifest (- reads it from stdin), or ad-hoc jobs from --glob/--stdin')
    .argument('[manifest]', 'YAML or JSON job manifest, or - for stdin')
    .addHelpText('after', RUN_EXAMPLES)
    .action(async (manifest: string | undefined, values: RunValues, cmd: Command) => {
      const options = checked(cmd, () => runOptions(values, manifest));
      // a signal held since start-up waits for the run, which stops with it (shutdown.ts)
      const code = await holdingStops(async () => {
        const { runCommand } = await import('./run.js');
        return runCommand(manifest, rest, options);
      });
      setExit(code);
    });
  addRunOptions(run);

  program
    .command('validate')
    .description('check a manifest; print the job count, or every error with file:line:column')
    .argument('<manifest>', 'YAML or JSON job manifest, or - for stdin')
    .addHelpText('after', '\nExample:\n  $ jobrun validate jobs.yaml && echo ok')
    .action(async (manifest: string) => {
      const { loadManifest } = await import('../manifest/load.js');
      const { clean } = await import('../reporters/text.js');
      const plan = await loadManifest(manifest);
      const pools = Object.keys(plan.pools).length;
      // names and commands are the manifest's: its controls (a title escape) become `?`
      const run = (text: string) => text.replace(/\n+$/, '').split('\n').map(clean).join('\n    ');
      const stages = (plan.stages ?? []).map(
        (s) => `\n  stage ${clean(s.name)}: items from ${clean(s.from)}\n    ${run(s.run)}`,
      );
      process.stdout.write(
        `${manifest}: ok, ${plan.jobs.length} job${plan.jobs.length === 1 ? '' : 's'}` +
          (pools ? `, ${pools} pool${pools === 1 ? '' : 's'}` : '') +
          (stages.length ? `, ${stages.length} stage${stages.length === 1 ? '' : 's'}` : '') +
          stages.join('') +
          '\n',
      );
    });

  program
    .command('schema')
    .description("print the manifest's JSON Schema (for editors), or the report's or events'")
    .option('--report', 'the schema of the report (--json, --report, --results meta.json)')
    .option('--events', 'the schema of one --events line')
    .addHelpText(
      'after',
      '\nExamples:\n  $ jobrun schema > jobrun.schema.json\n  # then in jobs.yaml: # yaml-language-server: $schema=./jobrun.schema.json\n  $ jobrun schema --report > report.schema.json',
    )
    .action(async (flags: { report?: boolean; events?: boolean }) => {
      const { manifestJsonSchema } = await import('../manifest/schema.js');
      const { eventsJsonSchema, reportJsonSchema } = await import('../reporters/json-schemas.js');
      const schema = flags.report
        ? reportJsonSchema()
        : flags.events
          ? eventsJsonSchema()
          : manifestJsonSchema();
      process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
    });

  program
    .command('explain')
    .description('say whether a job would be restored from the cache or run, and why')
    .argument('<manifest>', 'YAML or JSON job manifest')
    .argument('<job>', 'a job name, a name glob (convert-*), or a stage (proc-{}: its jobs)')
    .option('--json', 'print the answer as JSON')
    .option('--cache-dir <dir>', 'the cache folder (default: .jobrun/cache beside the manifest)')
    .addHelpText(
      'after',
      "\nExample:\n  $ jobrun explain jobs.yaml 'convert-*'\n  convert-a: runs\n    input data/a.csv: content changed",
    )
    .action(async (manifest: string, job: string, flags: ExplainFlags) => {
      const { explainCommand } = await import('./explain.js');
      setExit(await explainCommand(manifest, job, flags));
    });

  const retry = program
    .command('retry')
    .description('re-run only the jobs that failed, timed out or were skipped in an earlier report')
    .argument('<report>', 'a report written by --report or --json')
    .addHelpText(
      'after',
      '\nExamples:\n  $ jobrun run jobs.yaml --report out.json || jobrun retry out.json\n' +
        '  $ jobrun retry out.json --cwd ./checkout   # its folder was removed since',
    )
    .action(async (report: string, values: RunValues, cmd: Command) => {
      const options = checked(cmd, () => runOptions(values));
      const code = await holdingStops(async () => {
        const { retryCommand } = await import('./retry.js');
        return retryCommand(report, options, values.cwd);
      });
      setExit(code);
    });
  addRetryOptions(retry);

  program
    .command('clean')
    .description("delete old runs' job logs from .jobrun/logs (and, if asked, the journals)")
    .addOption(cleanOptions.keep())
    .addOption(cleanOptions.journals())
    .addOption(cleanOptions.cache())
    .addOption(cleanOptions.cacheDir())
    .addHelpText(
      'after',
      `
Runs keep the logs of the last ${DEFAULT_KEEP_RUNS} runs by themselves
(run --keep-logs, JOBRUN_KEEP_LOGS).

Examples:
  $ jobrun clean                 delete every run's logs, keep the journals
  $ jobrun clean --keep 3        keep the newest three runs' logs
  $ jobrun clean --cache         also empty .jobrun/cache (every job runs again)`,
    )
    .action(async (flags: CleanFlags) => {
      const { cleanCommand } = await import('./clean.js');
      cleanCommand(flags);
    });

  addWorkerCommand(program, setExit);
  addOperateCommands(program, setExit);

  return program;
}

/** The CLI entry point: maps errors to exit codes, never exits while output may flush. */
export async function main(argv: string[]): Promise<void> {
  installProcessGuards();
  process.on('uncaughtException', internalError);
  process.on('unhandledRejection', internalError);
  takeRedisUrlFromEnv(); // before anything runs: no job may inherit the password
  const args = rawArgs(argv.slice(2));
  // run's `--` starts the command line of its jobs; for the others it only ends the
  // options, as usual (`jobrun cancel RUN -- -x` cancels the job named -x)
  const dash = args[0] === 'run' ? args.indexOf('--') : -1;
  const own = dash === -1 ? args : args.slice(0, dash);
  const rest = dash === -1 ? [] : args.slice(dash + 1);
  const setExit = (code: number) => {
    // output lost to a full disk fails the command, whatever else it says (`logs > full`)
    process.exitCode = code === 0 && outputWriteError() !== undefined ? 1 : code;
  };
  const program = buildProgram(rest, setExit);
  /** The command that acted, once commander has parsed its line. */
  let command: string | undefined;
  // only run and retry keep a signal held since start-up for their run; others die of it
  program.hook('preAction', (_program, action) => {
    command = action.name();
    if (command !== 'run' && command !== 'retry') releaseStops();
  });
  try {
    await program.parseAsync(own, { from: 'user' });
  } catch (err) {
    process.exitCode = reportError(err, command);
    const parallelHint =
      own[0] === 'run' && err instanceof CommanderError ? parallelFlagHint(err.message) : undefined;
    const redisHint =
      err instanceof CommanderError
        ? redisFlagHint(
            program.commands.find((c) => c.name() === own[0]),
            err.message,
          )
        : undefined;
    if (parallelHint) process.stderr.write(`${parallelHint}\n`);
    else if (redisHint) process.stderr.write(`${redisHint}\n`);
    else if (dash === -1 && own[0] === 'run' && process.exitCode === 2) {
      const run = program.commands.find((c) => c.name() === 'run');
      const hint = run && missingDashHint(run, own.slice(1));
      if (hint) process.stderr.write(`${hint}\n`);
    }
  }
  releaseStops(); // --help, --version, a usage error: a signal held meanwhile ends jobrun now
  finishExit();
}

/** The commands that run jobs: only their manifest errors say that nothing ran. */
const RUNS_JOBS: ReadonlySet<string> = new Set(['run', 'retry']);

/**
 * Says on stderr what went wrong (unless commander already did) and returns the exit
 * code: 2 for usage and manifest errors, a `JobrunError`'s own code, 70 for a bug.
 * `command` is the command that acted (`validate`, `explain` never run anything).
 */
export function reportError(err: unknown, command: string | undefined): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (or the help/version text)
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof ManifestError) {
    const n = err.issues.length;
    const ran = command !== undefined && RUNS_JOBS.has(command) ? '; nothing ran' : '';
    process.stderr.write(
      `${err.message}\njobrun: ${n} error${n === 1 ? '' : 's'} in the manifest${ran}\n`,
    );
    return err.exitCode;
  }
  if (err instanceof JobrunError) {
    process.stderr.write(`jobrun: ${err.message}\n`);
    return err.exitCode;
  }
  reportInternalError(err);
  return 70;
}

function reportInternalError(err: unknown): void {
  process.stderr.write(
    `jobrun: internal error (this is a bug in jobrun; please report it with the command you ran):\n${(err as Error)?.stack ?? String(err)}\n`,
  );
}

/**
 * An exception nobody caught, or a promise rejection nobody handled: the run's state
 * cannot be trusted, so jobrun ends now, with 70; the exit hook kills every job group.
 */
function internalError(err: unknown): void {
  reportInternalError(err);
  process.exit(70);
}
