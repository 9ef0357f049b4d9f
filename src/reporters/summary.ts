import { createRequire } from 'node:module';
import type TableType from 'cli-table3';
import type { JobRecord } from '../model/events.js';
import { endedWell, type FinalStatus } from '../model/job.js';
import { jobEnding } from '../model/outcome.js';
import { formatDuration, indentTail, STATUS_COLOR, STATUS_ICON, type Paint } from './format.js';
import { clean, cleanOutput, truncate, visibleWidth } from './text.js';

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
  /** Jobs that ended before this table saw the run (`jobrun watch` joining late). */
  private endedBefore = 0;

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

  /**
   * Joining a run under way: `count` jobs ended unseen, so the totals below the table
   * are this watch's, and say so rather than pass for the run's.
   */
  joinedLate(count: number): void {
    this.endedBefore = count;
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

  /**
   * The table, then the failed jobs' last lines; every line fits in `columns`. Names are
   * cut with `…` (down to {@link MIN_NAME} columns), then the columns that matter least
   * go (pool, attempts, duration); a table still too wide is cut.
   */
  render(p: Paint): string {
    const sel = this.select();
    const before = this.endedBefore ? ` (${this.endedBefore} ended before it)` : '';
    if (sel.total === 0)
      return p(
        'gray',
        this.endedBefore ? `no job ended during this watch${before}` : 'no jobs ran',
      );
    const longest = Math.max(4, ...sel.rows.map((j) => visibleWidth(clean(j.name))));
    let shown = COLUMNS.filter((c) => c !== 'pool' || sel.rows.some((j) => j.pool));
    let table = '';
    for (;;) {
      const full = this.table(sel, shown, longest, Infinity, p);
      const over = widest(full) - this.columns;
      const nameWidth = Math.max(Math.min(longest, MIN_NAME), longest - Math.max(0, over));
      table = over > 0 ? this.table(sel, shown, nameWidth, Infinity, p) : full;
      const droppable = DROP_ORDER.find((c) => shown.includes(c));
      if (widest(table) <= this.columns) break;
      if (droppable === undefined) {
        // last: the endings are cut too (the failed jobs' lines below say them in full)
        for (let exitWidth = longestExit(sel.rows); exitWidth > MIN_EXIT;) {
          exitWidth = Math.max(MIN_EXIT, exitWidth - (widest(table) - this.columns));
          table = this.table(sel, shown, nameWidth, exitWidth, p);
          if (widest(table) <= this.columns) break;
        }
        break;
      }
      shown = shown.filter((c) => c !== droppable);
    }
    const watched = this.endedBefore ? ` ended during this watch${before}` : '';
    const scope = sel.all
      ? `${sel.total} job${sel.total === 1 ? '' : 's'}${watched}`
      : `${sel.total} jobs${watched} (showing ${sel.failedTotal ? 'the failed and ' : ''}the ${SLOWEST} slowest)`;
    const parts = [
      table,
      p(
        'gray',
        `total: ${scope}, ${this.attempts} attempt${this.attempts === 1 ? '' : 's'}, ${formatDuration(this.jobTimeMs)} of job time`,
      ),
    ];
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
    return parts
      .join('\n')
      .split('\n')
      .map((line) => truncate(line, this.columns))
      .join('\n');
  }

  private table(
    sel: TableSelection,
    shown: Column[],
    nameWidth: number,
    exitWidth: number,
    p: Paint,
  ): string {
    // required at the end of the run, not at start-up: runs that print no table never load it
    const Table = createRequire(import.meta.url)('cli-table3') as typeof TableType;
    const table = new Table({
      head: shown.map((h) => p('bold', h)),
      style: { head: [], border: [], compact: true },
      colAligns: shown.map((c) => (c === 'attempts' || c === 'duration' ? 'right' : 'left')),
    });
    for (const job of sel.rows) {
      const d = durationOf(job);
      const cells: Record<Column, string | number> = {
        status: p(
          STATUS_COLOR[job.status],
          `${STATUS_ICON[job.status]} ${job.status}${job.allowFailure && !endedWell(job.status) ? ' (allowed)' : ''}`,
        ),
        name: truncate(clean(job.name), nameWidth),
        pool: job.pool ?? '–',
        attempts: job.attempts.length,
        duration: d === undefined ? '–' : formatDuration(d),
        exit: truncate(jobEnding(job).short, exitWidth),
      };
      table.push(shown.map((c) => cells[c]));
    }
    return table.toString();
  }
}

type Column = 'status' | 'name' | 'pool' | 'attempts' | 'duration' | 'exit';
const COLUMNS: readonly Column[] = ['status', 'name', 'pool', 'attempts', 'duration', 'exit'];
/** Left out, in this order, when the table would not fit the terminal. */
const DROP_ORDER: readonly Column[] = ['pool', 'attempts', 'duration'];
/** Names are cut down to this many columns before other columns are left out. */
const MIN_NAME = 12;
const MIN_EXIT = 6;

function longestExit(rows: JobRecord[]): number {
  return Math.max(4, ...rows.map((j) => visibleWidth(jobEnding(j).short)));
}

function widest(text: string): number {
  return Math.max(...text.split('\n').map(visibleWidth));
}

function withoutResult(job: JobRecord): JobRecord {
  const { result: _result, resultTruncated: _cut, ...rest } = job;
  return { ...rest, attempts: job.attempts.map(({ result: _r, ...a }) => a) };
}
