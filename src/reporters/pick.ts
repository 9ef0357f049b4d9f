import { fstatSync } from 'node:fs';
import { colorEnabled } from './format.js';
import { HtmlReporter } from './html.js';
import { EventsReporter, JsonReporter, ReportFileReporter } from './json.js';
import { JunitReporter } from './junit.js';
import { LiveReporter } from './live.js';
import { OutputReporter } from './output.js';
import { PlainReporter, type PlainOptions } from './plain.js';
import { ResultsDirReporter } from './results-dir.js';
import { LostLogs } from './lost-logs.js';
import {
  jobOutputMode,
  type OutputSettings,
  type ProgressMode,
  type RunShape,
} from './settings.js';
import { StreamSink, type LineSink } from './sink.js';
import { StepSummaryReporter } from './step-summary.js';
import { SummaryTable } from './summary.js';
import type { Reporter } from './types.js';

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

/** Takes the rest of a settings value that was taken apart: it must be empty. */
function allUsed(rest: Record<string, never>): void {
  void rest;
}

/**
 * Chooses the reporters from the output settings. stdout carries machine output only when
 * asked (`--json` or `--events`, one of them); everything for people goes to stderr.
 * Job output: jobs' stdout goes to stdout and their stderr to stderr, like GNU
 * parallel's, unless stdout carries JSON (then both go to stderr); when both are
 * terminals it shares the people's stream so it prints above the live view instead of
 * through it. Under GitHub Actions, job output and jobrun's lines share one order, so
 * with `2>&1` a job's `::group::` holds that job's lines only.
 */
export function pickReporters(
  settings: OutputSettings,
  shape: RunShape,
  env: NodeJS.ProcessEnv = process.env,
  term: Terminal = process,
): Reporter[] {
  // every setting is taken here: a new one that nothing reads does not compile
  const { json, events, report, junit, html, results, output, keepOrder, tag, ...rest } = settings;
  const { progress, bar, eta, summary, ...unused } = rest;
  allUsed(unused);
  const outputMode = jobOutputMode(settings, shape, Boolean(term.stdout.isTTY));
  const view = bar
    ? term.stderr.isTTY
      ? 'live'
      : 'none'
    : resolveProgress(progress, term.stderr, env);
  const machineStdout = json || events;
  const github = env.GITHUB_ACTIONS === 'true';
  // the table fits the terminal it goes to, whatever the view; a pipe or CI log gets 100
  const columns = term.stderr.columns || 100;
  const width = view === 'live' || term.stderr.isTTY ? columns - 1 : 100;
  const table = view === 'none' ? undefined : new SummaryTable(width);
  const lines: Pick<PlainOptions, 'tableFor' | 'resumeCommand' | 'header' | 'eta'> = {
    // an ad-hoc run whose jobs all succeeded ends with its one summary line
    tableFor: (s) =>
      summary === 'table' || (summary === 'auto' && (!shape.adHoc || s.failed + s.timed_out > 0)),
    resumeCommand: shape.resumeCommand,
    // the log folder matters to a manifest's user; an ad-hoc run's output is on screen
    header: !shape.adHoc || progress === 'plain',
    eta,
  };

  let jobOutput: OutputReporter | undefined;
  const waitFor = () => jobOutput?.drained() ?? Promise.resolve();
  let people: LiveReporter | PlainReporter;
  let peopleSink: LineSink;
  const stdoutSink = new StreamSink(term.stdout);
  if (view === 'live') {
    const live = new LiveReporter({ out: term.stderr, env, table, waitFor, bar, lines });
    people = live;
    peopleSink = live.renderer;
  } else {
    // one order for both when they are read together: a job's stdout and stderr are then
    // copied one after the other, never torn into each other's 64 KiB chunks
    const together = github || sameDestination(term);
    peopleSink = new StreamSink(term.stderr, together ? stdoutSink : undefined);
    people = new PlainReporter({
      ...lines,
      out: term.stderr,
      sink: peopleSink,
      quiet: view === 'none',
      // chosen for a CI log or a pipe, not asked for by name: large runs summarize successes
      summarize: progress === 'auto' && !bar,
      // an ad-hoc run's lines are its jobs' output, as with parallel; --progress plain lists jobs
      successLines: !(shape.adHoc && progress === 'auto'),
      env,
      table,
      waitFor,
    });
  }

  const reporters: Reporter[] = [];
  // the reporters that read logs share it, so a job whose log went is said once
  const lostLogs = new LostLogs((line) => peopleSink.line(line), Boolean(term.stderr.isTTY));
  if (outputMode !== 'none') {
    const shareStderr = machineStdout || Boolean(term.stdout.isTTY && term.stderr.isTTY);
    const target = shareStderr ? term.stderr : term.stdout;
    const sink = shareStderr ? peopleSink : stdoutSink;
    // folds are for a log people read: not for an ad-hoc run's default output (data)
    const fold = github && (output !== undefined || !shape.adHoc);
    jobOutput = new OutputReporter({
      mode: outputMode,
      sink,
      // folded: a job's stderr goes into its group, in the order it was written
      errSink: fold ? sink : peopleSink,
      color: colorEnabled(target, env),
      // a header per job when asked for by name; by default the output alone, as parallel
      headers: Boolean(target.isTTY) && output === 'grouped' && !tag,
      terminal: Boolean(target.isTTY),
      env,
      keepOrder,
      exact: !shareStderr && !target.isTTY,
      tag,
      fold,
      lostLogs,
      pressure: shape.pressure,
    });
    reporters.push(jobOutput);
  }
  reporters.push(people);
  if (json) reporters.push(new JsonReporter(term.stdout));
  if (events) reporters.push(new EventsReporter(term.stdout));
  if (report) reporters.push(new ReportFileReporter(report));
  if (junit) reporters.push(new JunitReporter(junit));
  if (html) reporters.push(new HtmlReporter(html));
  if (results) reporters.push(new ResultsDirReporter(results, lostLogs));
  const stepSummary = env.GITHUB_STEP_SUMMARY;
  if (github && stepSummary) reporters.push(new StepSummaryReporter(stepSummary));
  return reporters;
}

/**
 * stdout and stderr are one file or pipe (`> log 2>&1`, `2>&1 | less`): what is
 * written to either reaches the reader in the order written.
 */
function sameDestination(term: Terminal): boolean {
  const fds = [term.stdout, term.stderr].map((s) => (s as { fd?: unknown }).fd);
  if (!fds.every((fd): fd is number => typeof fd === 'number')) return false;
  try {
    const [out, err] = fds.map((fd) => fstatSync(fd));
    return out!.dev === err!.dev && out!.ino === err!.ino;
  } catch {
    return false; // a stream closed under us: nothing to keep in order
  }
}
