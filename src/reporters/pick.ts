import { colorEnabled } from './format.js';
import { HtmlReporter } from './html.js';
import { EventsReporter, JsonReporter, ReportFileReporter } from './json.js';
import { JunitReporter } from './junit.js';
import { LiveReporter } from './live.js';
import { OutputReporter, type OutputMode } from './output.js';
import { PlainReporter } from './plain.js';
import { ResultsDirReporter } from './results-dir.js';
import { StreamSink, type LineSink } from './sink.js';
import { SummaryTable } from './summary.js';
import type { Reporter } from './types.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'none';

/** The output flags, parsed and checked (`cli/flags/`): which reporters a run gets. */
export interface OutputOptions {
  /** At most one of `json` and `events`: both would write to stdout. */
  readonly json?: boolean;
  readonly events?: boolean;
  readonly report?: string;
  readonly progress?: ProgressMode;
  readonly junit?: string;
  readonly html?: string;
  /** Job output in the terminal (default `none`). */
  readonly output?: OutputMode;
  /** `-k`: grouped output in input order (only with `output: 'grouped'`). */
  readonly keepOrder?: boolean;
  /** `--results DIR`: per-job stdout, stderr and meta.json files. */
  readonly results?: string;
}

/** The streams reporters write to; tests pass fakes. */
export interface Terminal {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
}

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
 * Chooses the reporters from the output options. stdout carries machine output only when
 * asked (`--json` or `--events`, one of them); everything for people goes to stderr.
 * Job output (`--output`): jobs' stdout goes to stdout and their stderr to stderr,
 * like GNU parallel's, unless stdout carries JSON (then both go to stderr); when both
 * are terminals it shares the people's stream so it prints above the live view
 * instead of through it.
 */
export function pickReporters(
  options: OutputOptions,
  env: NodeJS.ProcessEnv = process.env,
  term: Terminal = process,
): Reporter[] {
  const progress = options.progress ?? 'auto';
  const outputMode = options.output ?? 'none';
  const view = resolveProgress(progress, term.stderr, env);
  const machineStdout = Boolean(options.json || options.events);
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
      keepOrder: Boolean(options.keepOrder),
      exact: !shareStderr && !target.isTTY,
    });
    reporters.push(output);
  }
  reporters.push(people);
  if (options.json) reporters.push(new JsonReporter(term.stdout));
  if (options.events) reporters.push(new EventsReporter(term.stdout));
  if (options.report) reporters.push(new ReportFileReporter(options.report));
  if (options.junit) reporters.push(new JunitReporter(options.junit));
  if (options.html) reporters.push(new HtmlReporter(options.html));
  if (options.results) reporters.push(new ResultsDirReporter(options.results));
  return reporters;
}
