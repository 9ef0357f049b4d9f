import { endedWell } from '../model/job.js';
import { attemptSucceeded } from '../model/attempt.js';
import { CiDigest } from './ci-digest.js';
import type { JobRecord, RunEvent, Summary } from '../model/events.js';
import type { FinalStatus } from '../model/job.js';
import { attemptEnding, jobEnding } from '../model/outcome.js';
import {
  colorEnabled,
  formatDuration,
  indentTail,
  painter,
  STATUS_COLOR,
  statusCounts,
  STATUS_ICON,
  workersText,
  type Paint,
} from './format.js';
import { workflowCommand } from './github.js';
import { StreamSink, type LineSink } from './sink.js';
import { resumeLine, stoppingLine, type StopNotice } from './stopping.js';
import type { SummaryTable } from './summary.js';
import { clean, cleanOutput, truncate, wrapLine } from './text.js';
import type { Reporter } from './types.js';

export interface PlainOptions {
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Where lines go instead of `out` (the live view passes its renderer). */
  sink?: LineSink;
  /** Colours on or off; by default decided from `out` and the environment. */
  color?: boolean;
  /** `none` prints only the final summary line. */
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
  /** The table printed before the summary line at the end. */
  table?: SummaryTable;
  /** Settles when earlier end-of-run output (grouped job output) is written. */
  waitFor?: () => Promise<void>;
  /**
   * Summarize succeeded (and cancelled) jobs once a run is large: see `CiDigest`.
   * On for `--progress auto` without a terminal or in CI; `--progress plain` prints every line.
   */
  summarize?: boolean;
  now?: () => number;
  /** Cut every line to this many columns (a terminal's width); job output is never cut. */
  width?: number;
  /** Print a line for each succeeded and cancelled job (default true; the live view keeps them out). */
  successLines?: boolean;
  /** Print the `jobrun: N jobs, …, logs in …` line at the start (default true). */
  header?: boolean;
  /** Whether the table goes before the summary line (default: whenever there is one). */
  tableFor?: (summary: Summary) => boolean;
  /** `--eta`: each progress mark also says how long the rest should take. */
  eta?: boolean;
  /** Shown after an interrupted run: the command line that resumes it. */
  resumeCommand?: string;
}

/**
 * One line per event worth a line, no cursor movement: for CI logs, pipes and
 * anyone who wants a record. Under GitHub Actions a failed job also becomes an
 * `::error` annotation.
 */
export class PlainReporter implements Reporter {
  private readonly sink: LineSink;
  private readonly paint: Paint;
  private readonly github: boolean;
  private total: number | null = null;
  private ended = 0;
  /** Why each job's last failed attempt failed (by job id), until its retry line is printed. */
  private readonly lastAttempt = new Map<string, string>();
  private digest: CiDigest | undefined;
  private running = 0;
  private startedAt = 0;
  /** The jobs run on Redis workers (see `workersText`). */
  private remote: boolean | undefined;

  constructor(private readonly options: PlainOptions = {}) {
    const out = options.out ?? process.stderr;
    const env = options.env ?? process.env;
    this.sink = options.sink ?? new StreamSink(out);
    this.paint = painter(options.color ?? colorEnabled(out, env));
    this.github = env.GITHUB_ACTIONS === 'true';
  }

  onRunStart(e: RunEvent<'run_start'>): void {
    this.total = e.total;
    this.startedAt = e.time;
    this.remote = e.remote;
    if (this.options.quiet || this.options.header === false) return;
    // no total: jobs stream in (stdin), or a manifest's stages make them as their sources end
    const jobs =
      e.total !== null
        ? `${e.total} job${e.total === 1 ? '' : 's'}`
        : e.manifestPath !== null
          ? 'jobs as its stages make them'
          : 'jobs from input';
    const workers = workersText(e.workers, e.remote);
    this.line(this.paint('gray', `jobrun: ${jobs}, ${workers}, logs in ${e.logDir}`));
    if (this.options.summarize) {
      this.digest = new CiDigest(
        e.total,
        this.options.now ?? Date.now,
        (t) => this.line(t),
        this.paint,
      );
      if (this.digest.active()) this.line(this.paint('gray', this.digest.notice()));
    }
  }

  onJobStart(): void {
    this.running++;
  }

  /** Joining a run under way (`jobrun watch`): this many jobs ended before. */
  catchUp(done: Record<FinalStatus, number>): void {
    this.ended = Object.values(done).reduce((a, b) => a + b, 0);
    this.options.table?.joinedLate(this.ended);
  }

  onAttemptEnd(e: RunEvent<'attempt_end'>): void {
    this.running = Math.max(0, this.running - 1);
    if (this.options.quiet || attemptSucceeded(e.result)) return;
    this.lastAttempt.set(e.id, attemptEnding(e.result).text);
  }

  onJobRetry(e: RunEvent<'job_retry'>): void {
    if (this.options.quiet) return;
    const p = this.paint;
    const why = this.lastAttempt.get(e.id) ?? 'failed';
    this.lastAttempt.delete(e.id);
    this.line(
      `${p('yellow', '↻')} ${clean(e.name)} ${p('gray', `${why}, attempt ${e.nextAttempt} in ${formatDuration(e.delayMs)}`)}`,
    );
  }

  onWorkersChange(e: RunEvent<'workers_change'>): void {
    if (this.options.quiet) return;
    const text = this.remote ? workersText(e.workers, true) : String(e.workers);
    this.line(this.paint('gray', `workers: ${text}`));
  }

  onRunStopping(e: RunEvent<'run_stopping'>): void {
    if (this.options.quiet) return;
    this.line(this.paint('yellow', waitingLine(e)));
  }

  onAlert(e: RunEvent<'alert'>): void {
    if (this.options.quiet) return;
    const text = `${e.cleared ? 'alert cleared' : 'ALERT'} ${e.alert}: ${e.message}`;
    this.line(this.paint(e.cleared ? 'green' : 'red', text));
  }

  onJobEnd(e: RunEvent<'job_end'>): void {
    this.ended++;
    this.lastAttempt.delete(e.job.id);
    this.options.table?.add(e.job);
    if (this.options.quiet || e.job.excluded) return;
    // padded to the total's width, so the status column stays aligned as counts grow
    const progress =
      this.total === null
        ? `[${this.ended}]`
        : `[${String(this.ended).padStart(String(this.total).length)}/${this.total}${this.eta()}]`;
    if (this.digest?.absorb(e.job, progress)) return;
    // routine endings: counted in the summary (on a stop, every queued job is cancelled)
    const routine = e.job.status === 'succeeded' || e.job.status === 'cancelled';
    if (this.options.successLines === false && routine) return;
    for (const line of jobLines(e.job, progress, this.paint, this.github)) this.line(line);
  }

  /** ` ETA 12s` with `--eta`, from the mean pace so far. */
  private eta(): string {
    if (!this.options.eta || this.total === null || this.ended >= this.total) return '';
    const elapsed = (this.options.now ?? Date.now)() - this.startedAt;
    return ` ETA ${formatDuration((elapsed / this.ended) * (this.total - this.ended))}`;
  }

  onStopping(stop: Omit<StopNotice, 'running'>): void {
    if (stop.signal === 'SIGPIPE') return; // the reader left; it is not told
    this.line(this.paint('yellow', stoppingLine({ ...stop, running: this.running })), true);
  }

  onRunEnd(e: RunEvent<'run_end'>): void | Promise<void> {
    if (!this.options.waitFor) return this.end(e);
    return this.options.waitFor().then(() => this.end(e));
  }

  private end(e: RunEvent<'run_end'>): void {
    const p = this.paint;
    this.digest?.flush(`[${this.ended}${this.total === null ? '' : `/${this.total}`}]`);
    const s = e.summary;
    const { table, tableFor } = this.options;
    if (table && !this.options.quiet && (tableFor?.(s) ?? true)) this.line(table.render(p));
    const why = e.interrupted
      ? ` (interrupted by ${e.interrupted})`
      : e.halted
        ? ` (halted by ${e.halted})`
        : '';
    // the lines that end a run wrap rather than lose their end
    this.line(
      `${p('bold', `${s.total} job${s.total === 1 ? '' : 's'}`)}: ${statusCounts(s, p) || 'none ran'} in ${formatDuration(e.durationMs)}${why}`,
      true,
    );
    const resume = this.options.resumeCommand;
    if (resume && e.interrupted && e.interrupted !== 'SIGPIPE') this.line(resumeLine(resume), true);
  }

  /** A line for people, cut (or with `wrap`, broken) to the terminal's width if any. */
  private line(text: string, wrap = false): void {
    const { width } = this.options;
    if (width === undefined) return this.sink.line(text);
    const fit = wrap ? wrapLine : truncate;
    this.sink.line(
      text
        .split('\n')
        .map((l) => fit(l, width))
        .join('\n'),
    );
  }
}

/** `stopping: waiting for 3 running jobs, Ctrl-C again to stop them now`. */
function waitingLine(e: RunEvent<'run_stopping'>): string {
  const jobs = `${e.running} running job${e.running === 1 ? '' : 's'}`;
  if (e.graceMs === undefined) return `${e.reason}: starting nothing more, waiting for ${jobs}`;
  return `stopping: waiting for ${jobs} (up to ${formatDuration(e.graceMs)}), Ctrl-C again to stop them now`;
}

/**
 * The lines for a finished job: `[3/10] ✖ failed    name 1.2s  exit 1`, its output
 * tail when it did not succeed, and a GitHub `::error` annotation when it counts.
 */
export function jobLines(job: JobRecord, progress: string, p: Paint, github: boolean): string[] {
  const dur = job.startedAt === undefined ? '' : formatDuration(job.endedAt - job.startedAt);
  const attempts = job.attempts.length > 1 ? `${job.attempts.length} attempts` : '';
  const detail = [
    endedWell(job.status) ? '' : jobEnding(job).text,
    attempts,
    job.allowFailure && !endedWell(job.status) ? 'allowed to fail' : '',
  ]
    .filter(Boolean)
    .join(', ');
  const status = p(STATUS_COLOR[job.status], `${STATUS_ICON[job.status]} ${job.status.padEnd(9)}`);
  const lines = [
    `${p('gray', progress)} ${status} ${p('bold', clean(job.name))} ${p('gray', [dur, detail].filter(Boolean).join('  '))}`,
  ];
  if (job.outputTail && !endedWell(job.status))
    lines.push(p('gray', indentTail(cleanOutput(job.outputTail))));
  if (github && (job.status === 'failed' || job.status === 'timed_out') && !job.allowFailure) {
    const title = `jobrun: ${job.name} ${job.status}`;
    // the annotation shows the failure's last lines, where people look first
    const tail = job.outputTail ? `\n${job.outputTail.replace(/\n$/, '')}` : '';
    lines.push(workflowCommand('error', { title }, `${job.name}: ${jobEnding(job).text}${tail}`));
  }
  return lines;
}
