import { UsageError } from '../errors.js';
import { colorEnabled } from './format.js';
import { HtmlReporter } from './html.js';
import { EventsReporter, JsonReporter, ReportFileReporter } from './json.js';
import { JunitReporter } from './junit.js';
import { LiveReporter } from './live.js';
import { OUTPUT_MODES, OutputReporter, type OutputMode } from './output.js';
import { PlainReporter } from './plain.js';
import { ResultsDirReporter } from './results-dir.js';
import { StreamSink, type LineSink } from './sink.js';
import { SummaryTable } from './summary.js';
import type { Reporter } from './types.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'none';

export interface OutputFlags {
  json?: boolean;
  events?: boolean;
  report?: string;
  progress?: string;
  junit?: string;
  html?: string;
  output?: string;
  /** `--results DIR`: per-job stdout, stderr and meta.json files. */
  results?: string;
}

/** The streams reporters write to; tests pass fakes. */
export interface Terminal {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
}

const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'none'];

/** `auto` means the live view on a terminal outside CI, plain lines otherwise. */
export function resolveProgress(
  mode: ProgressMode,
  stderr: { isTTY?: boolean },
  env: NodeJS.ProcessEnv,
): 'live' | 'plain' | 'none' {
  if (mode === 'tty') return 'live';
  if (mode === 'plain' || mode === 'none') return mode;
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI !== 'false';
  return stderr.isTTY && !ci && env.TERM !== 'dumb' ? 'live' : 'plain';
}

/**
 * Chooses the reporters from the flags. stdout carries machine output only when
 * asked (`--json` or `--events`, one of them); everything for people goes to stderr.
 * Job output (`--output`): jobs' stdout goes to stdout and their stderr to stderr,
 * like GNU parallel's, unless stdout carries JSON (then both go to stderr); when both
 * are terminals it shares the people's stream so it prints above the live view
 * instead of through it.
 */
export function pickReporters(
  flags: OutputFlags,
  env: NodeJS.ProcessEnv = process.env,
  term: Terminal = process,
): Reporter[] {
  const progress = (flags.progress ?? 'auto') as ProgressMode;
  if (!PROGRESS_MODES.includes(progress)) {
    throw new UsageError(
      `--progress "${flags.progress}" must be one of: ${PROGRESS_MODES.join(', ')}`,
    );
  }
  const outputMode = (flags.output ?? 'none') as OutputMode;
  if (!OUTPUT_MODES.includes(outputMode)) {
    throw new UsageError(`--output "${flags.output}" must be one of: ${OUTPUT_MODES.join(', ')}`);
  }
  if (flags.json && flags.events) {
    throw new UsageError(
      '--json and --events both write to stdout; pick one (and --report FILE for the other)',
    );
  }
  const view = resolveProgress(progress, term.stderr, env);
  const machineStdout = Boolean(flags.json || flags.events);
  const table = view === 'none' ? undefined : new SummaryTable(term.stderr.columns || 100);

  let output: OutputReporter | undefined;
  const waitFor = () => output?.drained() ?? Promise.resolve();
  let people: LiveReporter | PlainReporter;
  let peopleSink: LineSink;
  if (view === 'live') {
    const live = new LiveReporter({ out: term.stderr, env, table, waitFor });
    people = live;
    peopleSink = live.renderer;
  } else {
    peopleSink = new StreamSink(term.stderr);
    people = new PlainReporter({
      out: term.stderr,
      sink: peopleSink,
      quiet: view === 'none',
      // chosen for a CI log or a pipe, not asked for by name: large runs summarize successes
      summarize: progress === 'auto',
      env,
      table,
      waitFor,
    });
  }

  const reporters: Reporter[] = [];
  if (outputMode !== 'none') {
    const shareStderr = machineStdout || (term.stdout.isTTY && term.stderr.isTTY);
    const target = shareStderr ? term.stderr : term.stdout;
    output = new OutputReporter({
      mode: outputMode,
      sink: shareStderr ? peopleSink : new StreamSink(term.stdout),
      errSink: peopleSink,
      color: colorEnabled(target, env),
      headers: Boolean(target.isTTY),
      terminal: Boolean(target.isTTY),
      env,
    });
    reporters.push(output);
  }
  reporters.push(people);
  if (flags.json) reporters.push(new JsonReporter(term.stdout));
  if (flags.events) reporters.push(new EventsReporter(term.stdout));
  if (flags.report) reporters.push(new ReportFileReporter(flags.report));
  if (flags.junit) reporters.push(new JunitReporter(flags.junit));
  if (flags.html) reporters.push(new HtmlReporter(flags.html));
  if (flags.results) reporters.push(new ResultsDirReporter(flags.results));
  return reporters;
}
