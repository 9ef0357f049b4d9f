import { endedWell } from '../model/job.js';
import { attemptSucceeded } from '../model/attempt.js';
import { CiDigest } from './ci-digest.js';
import type { JobRecord, RunEvent } from '../model/events.js';
import { attemptEnding, jobEnding } from '../model/outcome.js';
import {
  colorEnabled,
  formatDuration,
  indentTail,
  painter,
  STATUS_COLOR,
  statusCounts,
  STATUS_ICON,
  type Paint,
} from './format.js';
import { workflowCommand } from './github.js';
import { StreamSink, type LineSink } from './sink.js';
import type { SummaryTable } from './summary.js';
import { clean, cleanOutput } from './text.js';
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

  constructor(private readonly options: PlainOptions = {}) {
    const out = options.out ?? process.stderr;
    const env = options.env ?? process.env;
    this.sink = options.sink ?? new StreamSink(out);
    this.paint = painter(options.color ?? colorEnabled(out, env));
    this.github = env.GITHUB_ACTIONS === 'true';
  }

  onRunStart(e: RunEvent<'run_start'>): void {
    this.total = e.total;
    if (this.options.quiet) return;
    const jobs = e.total === null ? 'jobs from input' : `${e.total} job${e.total === 1 ? '' : 's'}`;
    this.line(this.paint('gray', `jobrun: ${jobs}, ${e.workers} workers, logs in ${e.logDir}`));
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

  onAttemptEnd(e: RunEvent<'attempt_end'>): void {
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
    this.line(this.paint('gray', `workers: ${e.workers}`));
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
        : `[${String(this.ended).padStart(String(this.total).length)}/${this.total}]`;
    if (this.digest?.absorb(e.job, progress)) return;
    for (const line of jobLines(e.job, progress, this.paint, this.github)) this.line(line);
  }

  onRunEnd(e: RunEvent<'run_end'>): void | Promise<void> {
    if (!this.options.waitFor) return this.end(e);
    return this.options.waitFor().then(() => this.end(e));
  }

  private end(e: RunEvent<'run_end'>): void {
    const p = this.paint;
    this.digest?.flush(`[${this.ended}${this.total === null ? '' : `/${this.total}`}]`);
    if (this.options.table && !this.options.quiet) this.line(this.options.table.render(p));
    const s = e.summary;
    const why = e.interrupted
      ? ` (interrupted by ${e.interrupted})`
      : e.halted
        ? ` (halted by ${e.halted})`
        : '';
    this.line(
      `${p('bold', `${s.total} job${s.total === 1 ? '' : 's'}`)}: ${statusCounts(s, p) || 'none ran'} in ${formatDuration(e.durationMs)}${why}`,
    );
  }

  private line(text: string): void {
    this.sink.line(text);
  }
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
    lines.push(workflowCommand('error', { title }, `${job.name}: ${jobEnding(job).text}`));
  }
  return lines;
}
