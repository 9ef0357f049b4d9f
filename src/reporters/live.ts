import type { RunEvent } from '../model/events.js';
import type { FinalStatus } from '../model/job.js';
import {
  colorEnabled,
  formatDuration,
  painter,
  STATUS_ICON,
  workersText,
  type Paint,
} from './format.js';
import { LiveRenderer, type TerminalLike } from './live-renderer.js';
import { PlainReporter, type PlainOptions } from './plain.js';
import type { StopNotice } from './stopping.js';
import type { SummaryTable } from './summary.js';
import { clean } from './text.js';
import type { Reporter } from './types.js';

/**
 * cli-spinners' "dots" (ora's default) for each running job's line; ora itself draws
 * the block's spinner, and is loaded only once the live view starts.
 */
const SPINNER = { interval: 80, frames: ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'] };
const BAR_WIDTH = 20;

export interface LiveOptions {
  out?: TerminalLike & NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  table?: SummaryTable;
  waitFor?: () => Promise<void>;
  now?: () => number;
  intervalMs?: number;
  /** `--bar`: the block is one progress line, and nothing else is printed but the summary. */
  bar?: boolean;
  /** Passed to the lines printed above the block (see `PlainOptions`). */
  lines?: Pick<PlainOptions, 'tableFor' | 'resumeCommand' | 'header' | 'eta'>;
}

interface Running {
  name: string;
  since: number;
  attempt: number;
  worker: string;
}

/** The counters a frame is drawn from; nothing here grows with the number of jobs but `queued`. */
export interface LiveState {
  startedAt: number;
  total: number | null;
  done: Record<FinalStatus, number>;
  queued: number;
  retrying: number;
  workers: number;
  /** On Redis workers: `workers` is the run's limit, 0 for none (see `workersText`). */
  remote?: boolean;
  /** By job id (names may repeat). */
  running: Map<string, Running>;
}

/**
 * The live view for a terminal: finished jobs scroll by above (in the plain
 * format), and a block at the bottom shows a progress bar, counts by state,
 * elapsed time, an ETA and one line per running job with a spinner. Events only
 * update counters; the renderer draws from them at most ten times a second.
 */
export class LiveReporter implements Reporter {
  readonly renderer: LiveRenderer;
  private readonly plain: PlainReporter;
  private readonly paint: Paint;
  private readonly now: () => number;
  /** Jobs waiting in a queue or in a retry backoff, to move their count when they end. */
  private readonly waiting = new Map<string, 'queued' | 'retrying'>();
  readonly state: LiveState = {
    startedAt: 0,
    total: null,
    done: { succeeded: 0, cached: 0, failed: 0, timed_out: 0, skipped: 0, cancelled: 0 },
    queued: 0,
    retrying: 0,
    workers: 0,
    running: new Map(),
  };

  constructor(private readonly options: LiveOptions = {}) {
    const out = options.out ?? process.stderr;
    const color = colorEnabled({ isTTY: true }, options.env ?? process.env);
    this.now = options.now ?? Date.now;
    this.paint = painter(color);
    this.renderer = new LiveRenderer(out, () => this.frame(), {
      intervalMs: options.intervalMs,
      color,
    });
    this.plain = new PlainReporter({
      ...options.lines,
      out,
      sink: this.renderer,
      color,
      env: options.env,
      table: options.table,
      quiet: options.bar,
      // finished successes would flood the scrollback: the block counts them
      successLines: false,
      width: Math.max(20, this.renderer.columns - 1),
    });
  }

  onRunStart(e: RunEvent<'run_start'>): void {
    this.state.startedAt = e.time;
    this.state.total = e.total;
    this.state.workers = e.workers;
    this.state.remote = e.remote;
    this.plain.onRunStart(e);
    this.renderer.start();
  }

  /** Joining a run under way (`jobrun watch`): these jobs ended before. */
  catchUp(done: Record<FinalStatus, number>): void {
    Object.assign(this.state.done, done);
    this.plain.catchUp(done);
  }

  onJobQueued(e: RunEvent<'job_queued'>): void {
    if (this.waiting.get(e.id) === 'retrying') this.state.retrying--;
    this.waiting.set(e.id, 'queued');
    this.state.queued++;
  }

  onJobStart(e: RunEvent<'job_start'>): void {
    if (this.waiting.delete(e.id)) this.state.queued--;
    const running = { name: e.name, since: e.time, attempt: e.attempt, worker: e.worker };
    this.state.running.set(e.id, running);
    this.plain.onJobStart();
  }

  onAttemptEnd(e: RunEvent<'attempt_end'>): void {
    this.state.running.delete(e.id);
    this.plain.onAttemptEnd(e);
  }

  onStopping(stop: Omit<StopNotice, 'running'>): void {
    this.plain.onStopping(stop);
    this.renderer.render(); // shown now, not at the next tick
  }

  onJobRetry(e: RunEvent<'job_retry'>): void {
    this.waiting.set(e.id, 'retrying');
    this.state.retrying++;
    this.plain.onJobRetry(e);
  }

  onWorkersChange(e: RunEvent<'workers_change'>): void {
    this.state.workers = e.workers;
    this.plain.onWorkersChange(e);
  }

  onRunStopping(e: RunEvent<'run_stopping'>): void {
    this.plain.onRunStopping(e);
  }

  onAlert(e: RunEvent<'alert'>): void {
    this.plain.onAlert(e);
  }

  onJobEnd(e: RunEvent<'job_end'>): void {
    const id = e.job.id;
    const was = this.waiting.get(id);
    if (was) {
      this.waiting.delete(id);
      if (was === 'queued') this.state.queued--;
      else this.state.retrying--;
    }
    this.state.running.delete(id);
    this.state.done[e.job.status]++;
    this.plain.onJobEnd(e);
  }

  async onRunEnd(e: RunEvent<'run_end'>): Promise<void> {
    await this.options.waitFor?.();
    this.renderer.stop();
    await this.plain.onRunEnd(e);
  }

  dispose(): void {
    this.renderer.stop();
  }

  /** The block at the bottom: two header lines, then one line per running job. */
  frame(): string[] {
    const lines = composeFrame(this.state, this.now(), this.renderer.rows, this.paint);
    // --bar: the progress line alone, with the counts
    return this.options.bar ? [lines.slice(0, 2).join(this.paint('gray', ' · '))] : lines;
  }
}

/** Draws the live block from counters; pure, so tests can check it without a terminal. */
export function composeFrame(s: LiveState, now: number, rows: number, p: Paint): string[] {
  const finished = Object.values(s.done).reduce((a, b) => a + b, 0);
  const elapsed = Math.max(0, now - s.startedAt);
  const head: string[] = [];
  if (s.total !== null && s.total > 0) {
    const ratio = Math.min(1, finished / s.total);
    const full = Math.round(ratio * BAR_WIDTH);
    head.push(
      p('cyan', '█'.repeat(full)) + p('gray', '░'.repeat(BAR_WIDTH - full)),
      `${String(Math.floor(ratio * 100)).padStart(3)}%`,
      `${finished}/${s.total}`,
    );
  } else {
    head.push(`${finished} done`);
  }
  const counts = [
    s.done.succeeded && p('green', `${STATUS_ICON.succeeded} ${s.done.succeeded}`),
    s.done.cached && p('green', `${STATUS_ICON.cached} ${s.done.cached}`),
    s.done.failed && p('red', `${STATUS_ICON.failed} ${s.done.failed}`),
    s.done.timed_out && p('red', `${STATUS_ICON.timed_out} ${s.done.timed_out}`),
    s.done.skipped && p('yellow', `${STATUS_ICON.skipped} ${s.done.skipped}`),
    s.done.cancelled && p('gray', `${STATUS_ICON.cancelled} ${s.done.cancelled}`),
  ].filter(Boolean);
  head.push(formatDuration(elapsed));
  if (s.total !== null && finished > 0 && finished < s.total) {
    head.push(`ETA ${formatDuration((elapsed / finished) * (s.total - finished))}`);
  }
  const states = [`running ${s.running.size}`, `queued ${s.queued}`];
  if (s.retrying) states.push(p('yellow', `retrying ${s.retrying}`));
  states.push(s.remote ? workersText(s.workers, true) : `workers ${s.workers}`);
  if (counts.length) states.unshift(counts.join(' '));
  const dot = p('gray', ' · ');
  const lines = [head.join(dot), states.join(dot)];

  const room = Math.max(0, rows - 1 - lines.length);
  const jobs = [...s.running].sort((a, b) => a[1].since - b[1].since);
  const shown = jobs.length > room ? Math.max(0, room - 1) : jobs.length;
  const frameChar = SPINNER.frames[Math.floor(now / SPINNER.interval) % SPINNER.frames.length];
  for (const [, r] of jobs.slice(0, shown)) {
    const extra = [formatDuration(Math.max(0, now - r.since))];
    if (r.attempt > 1) extra.push(`attempt ${r.attempt}`);
    extra.push(`worker ${r.worker}`);
    lines.push(`  ${p('cyan', frameChar ?? '*')} ${clean(r.name)}  ${p('gray', extra.join('  '))}`);
  }
  if (shown < jobs.length) lines.push(p('gray', `  +${jobs.length - shown} more running`));
  return lines;
}
