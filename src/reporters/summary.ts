import { createRequire } from 'node:module';
import type TableType from 'cli-table3';
import type { JobRecord } from '../model/events.js';
import { endedWell, type FinalStatus } from '../model/job.js';
import { jobEnding } from '../model/outcome.js';
import { formatDuration, indentTail, STATUS_COLOR, STATUS_ICON, type Paint } from './format.js';
import { clean, cleanOutput, truncate } from './text.js';

/** Every job is listed when the run has at most this many. */
export const LIST_ALL_UP_TO = 30;
/** Otherwise: the failed ones and this many of the slowest. */
export const SLOWEST = 10;
/** Failed jobs listed (with their output tails) at most; the rest are counted. */
export const MAX_FAILED = 100;

const failedStatus = (s: FinalStatus) => s === 'failed' || s === 'timed_out';
const durationOf = (job: JobRecord) =>
  job.startedAt === undefined ? undefined : job.endedAt - job.startedAt;

/** What the table shows, and what it had to leave out. */
export interface TableSelection {
  /** Every (non-excluded) job, or only the failed and slowest. */
  all: boolean;
  rows: JobRecord[];
  total: number;
  failedTotal: number;
}

/**
 * The summary table for people at the end of a run. It sees every finished job
 * but keeps only what it may show, so memory stays bounded for a million
 * streamed jobs: the first {@link LIST_ALL_UP_TO}+1 jobs (enough to know whether
 * "every job" applies), up to {@link MAX_FAILED} failed ones and the
 * {@link SLOWEST} slowest.
 */
export class SummaryTable {
  private readonly first: JobRecord[] = [];
  private readonly failed: JobRecord[] = [];
  /** Sorted slowest first. */
  private readonly slowest: JobRecord[] = [];
  private count = 0;
  private failedCount = 0;
  private attempts = 0;
  private jobTimeMs = 0;

  /** `columns`: the terminal's width, to keep long names from blowing the table up. */
  constructor(private readonly columns = 100) {}

  add(record: JobRecord): void {
    if (record.excluded) return;
    // the table never shows results, and a kept result could be a megabyte each
    const job = record.result === undefined ? record : withoutResult(record);
    this.count++;
    this.attempts += job.attempts.length;
    for (const a of job.attempts) this.jobTimeMs += a.durationMs;
    if (this.first.length <= LIST_ALL_UP_TO) this.first.push(job);
    if (failedStatus(job.status)) {
      this.failedCount++;
      if (this.failed.length < MAX_FAILED) this.failed.push(job);
    }
    const d = durationOf(job);
    if (d === undefined) return;
    const last = this.slowest.at(-1);
    if (this.slowest.length < SLOWEST || (last && d > durationOf(last)!)) {
      let i = this.slowest.findIndex((j) => d > durationOf(j)!);
      if (i === -1) i = this.slowest.length;
      this.slowest.splice(i, 0, job);
      if (this.slowest.length > SLOWEST) this.slowest.pop();
    }
  }

  /** The rows to show: every job in file order when there are few, else failed then slowest. */
  select(): TableSelection {
    const base = { total: this.count, failedTotal: this.failedCount };
    if (this.count <= LIST_ALL_UP_TO) {
      return { ...base, all: true, rows: [...this.first].sort((a, b) => a.index - b.index) };
    }
    const failed = [...this.failed].sort((a, b) => a.index - b.index);
    const shown = new Set(failed);
    return { ...base, all: false, rows: [...failed, ...this.slowest.filter((j) => !shown.has(j))] };
  }

  render(p: Paint): string {
    const sel = this.select();
    if (sel.total === 0) return p('gray', 'no jobs ran');
    const nameWidth = Math.max(16, this.columns - 58);
    // required at the end of the run, not at start-up: runs that print no table never load it
    const Table = createRequire(import.meta.url)('cli-table3') as typeof TableType;
    const table = new Table({
      head: ['status', 'name', 'pool', 'attempts', 'duration', 'exit'].map((h) => p('bold', h)),
      style: { head: [], border: [], compact: true },
      colAligns: ['left', 'left', 'left', 'right', 'right', 'left'],
    });
    for (const job of sel.rows) {
      const d = durationOf(job);
      table.push([
        p(
          STATUS_COLOR[job.status],
          `${STATUS_ICON[job.status]} ${job.status}${job.allowFailure && !endedWell(job.status) ? ' (allowed)' : ''}`,
        ),
        truncate(clean(job.name), nameWidth),
        job.pool ?? '–',
        job.attempts.length,
        d === undefined ? '–' : formatDuration(d),
        jobEnding(job).short,
      ]);
    }
    const scope = sel.all
      ? `${sel.total} job${sel.total === 1 ? '' : 's'}`
      : `${sel.total} jobs (showing ${sel.failedTotal ? 'the failed and ' : ''}the ${SLOWEST} slowest)`;
    table.push([
      {
        colSpan: 6,
        content: p(
          'gray',
          `total: ${scope}, ${this.attempts} attempt${this.attempts === 1 ? '' : 's'}, ${formatDuration(this.jobTimeMs)} of job time`,
        ),
      },
    ]);
    const parts = [table.toString()];
    for (const job of sel.rows) {
      if (!failedStatus(job.status) || !job.outputTail) continue;
      parts.push(
        `${p(STATUS_COLOR[job.status], STATUS_ICON[job.status])} ${p('bold', clean(job.name))} ${p('gray', `(${jobEnding(job).text}), last lines of output:`)}`,
        p('gray', indentTail(cleanOutput(job.outputTail))),
      );
    }
    if (sel.failedTotal > MAX_FAILED) {
      parts.push(
        p('yellow', `+${sel.failedTotal - MAX_FAILED} more failed jobs: see --report or the logs`),
      );
    }
    return parts.join('\n');
  }
}

function withoutResult(job: JobRecord): JobRecord {
  const { result: _result, resultTruncated: _cut, ...rest } = job;
  return { ...rest, attempts: job.attempts.map(({ result: _r, ...a }) => a) };
}
