import { createReadStream, statSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { JobRecord, RunEvent } from '../model/events.js';
import { LineDecorator } from './decorate.js';
import { LostLogs } from './lost-logs.js';
import type { OutputPressure } from './output-pressure.js';
import { formatDuration, painter, type Paint, type PaintCode } from './format.js';
import type { CopyEnd, LineSink } from './sink.js';
import { workflowCommand } from './github.js';
import { clean } from './text.js';
import type { Reporter } from './types.js';

/** How the output reporter shows job output (built by `pickReporters`). */
export interface JobOutputOptions {
  mode: 'stream' | 'grouped';
  /** Where jobs' stdout goes. */
  sink: LineSink;
  /** Where jobs' stderr goes (default: `sink`). */
  errSink?: LineSink;
  /** Colour the `[name]` prefixes and headers. */
  color?: boolean;
  /** Print a header line before each grouped job (for people; off when piped, like GNU parallel). */
  headers?: boolean;
  /**
   * The output goes to a terminal: escapes in job output (titles, clears, cursor moves)
   * and controls in job names are shown as `?`, colours kept. Piped output stays raw.
   */
  terminal?: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * `grouped` only: print jobs in input order (`index`), not as they end. Jobs that end
   * early wait as records (their output stays in the log files until their turn).
   */
  keepOrder?: boolean;
  /**
   * The output has a stream of its own, undecorated (a pipe): copy the logs' bytes
   * exactly, as parallel does, without ending each job with a newline.
   */
  exact?: boolean;
  /**
   * Fold each grouped job into a GitHub Actions `::group::` (default: under GitHub
   * Actions). Off for output that is data for the next command.
   */
  fold?: boolean;
  /** `--tag`: each line starts with the job's name and a tab (instead of `[name] `). */
  tag?: boolean;
  /** Where a log found gone is told (default: said on `errSink`, for this reporter alone). */
  lostLogs?: LostLogs;
  /**
   * The run's output pressure: grouped jobs waiting to be copied beyond `MAX_BEHIND`
   * hold the next starts back, as a reader that does not keep up does.
   */
  pressure?: OutputPressure;
}

/** Grouped jobs whose output may wait for its turn before no more jobs start. */
const MAX_BEHIND = 8;

const PREFIX_COLORS: readonly PaintCode[] = ['cyan', 'magenta', 'blue', 'yellow', 'green'];

/**
 * One attempt's output files: its stdout and stderr apart, or its combined log as
 * `stdout` when both go to one place (or it ran remotely, without per-stream files).
 */
interface AttemptFiles {
  attempt: number;
  stdout?: string;
  stderr?: string;
  /** How many of its files were gone when their turn came (see `OutputReporter.gone`). */
  gone: number;
}

/**
 * Job output in the terminal; the log files stay as they are. A job's stdout goes to
 * `sink` and its stderr to `errSink`, like GNU parallel: `jobrun … | wc -l` counts data,
 * never error messages.
 * - `stream`: each line as it comes, prefixed `[name]` (lines arrive whole from the executor).
 * - `grouped`: a job's whole output once it ends, copied from its per-stream files
 *   through a read stream (never held in memory), one job at a time. Under GitHub
 *   Actions each job folds into a `::group::` block. When both streams go to one place
 *   (or the attempt ran remotely) its combined log is copied, in the order written.
 *
 * An attempt that printed something has a log (`logPath`, set only when its size was
 * known above 0). If its files are gone when its turn comes (the log folder deleted
 * meanwhile), `LostLogs` says so once for the job, and the run ends in its error.
 */
export class OutputReporter implements Reporter {
  readonly needsOutput: boolean;
  readonly needsStreams: boolean;
  readonly needsRemoteStreams: boolean;
  /** The run's log folder: a log elsewhere is a remote worker's, on its own machine. */
  private logDir: string | undefined;
  private readonly errSink: LineSink;
  private readonly paint: Paint;
  private readonly github: boolean;
  private chain: Promise<void> = Promise.resolve();
  private readonly colorOf = new Map<string, PaintCode>();
  /** With `keepOrder`: jobs that ended before an earlier one, by index. */
  private readonly waiting = new Map<number, JobRecord>();
  private nextIndex = 0;
  private readonly lostLogs: LostLogs;
  /** Grouped jobs shown (asked to be copied) whose copy is not written yet. */
  private copying = 0;
  /** The streams copies went to, each watched for its reader leaving. */
  private readonly watched = new Set<NodeJS.WritableStream>();
  /**
   * Streams whose reader left (EPIPE: `jobrun … | head`): nothing is shown there any
   * more, so nothing is missed there either. After that stop jobrun drops output itself
   * (a remote job stopped is sent back no further): no log was removed.
   */
  private readonly left = new Set<NodeJS.WritableStream>();

  constructor(private readonly options: JobOutputOptions) {
    options.pressure?.holdWhile(() => this.copying > MAX_BEHIND);
    this.needsOutput = options.mode === 'stream';
    this.errSink = options.errSink ?? options.sink;
    this.needsStreams = options.mode === 'grouped' && this.errSink !== options.sink;
    this.needsRemoteStreams = options.mode === 'grouped';
    this.paint = painter(Boolean(options.color));
    this.github = options.fold ?? (options.env ?? process.env).GITHUB_ACTIONS === 'true';
    this.lostLogs =
      options.lostLogs ?? new LostLogs((line) => this.errSink.line(line), options.terminal);
  }

  onRunStart(e: RunEvent<'run_start'>): void {
    this.logDir = e.logDir;
    this.lostLogs.onRunStart(e);
  }

  onJobOutput(e: RunEvent<'job_output'>): void {
    if (this.options.mode !== 'stream') return;
    // a remote job's lines also say which worker printed them; a tag is the name alone
    // (parallel's `--tag`, and grouped output's), so `cut -f1` gives it back
    const label = e.worker === undefined || this.options.tag ? e.name : `${e.name}@${e.worker}`;
    const sink = e.stream === 'stderr' ? this.errSink : this.options.sink;
    const line = this.decorator(label, true).line(e.line);
    // piped, the job's bytes as it wrote them; a terminal shows text (U+FFFD)
    if (this.options.terminal) sink.line(line);
    else sink.exactLine(line);
  }

  /**
   * The one decoration of a job's lines, in both modes: `[name] ` in stream mode,
   * `name<TAB>` with `--tag`, nothing in grouped mode; cleaned for a terminal.
   */
  private decorator(label: string, stream: boolean): LineDecorator {
    const { tag, terminal } = this.options;
    const name = terminal ? clean(label) : label;
    const prefix = tag
      ? `${this.paint(this.prefixColor(label), name)}\t`
      : stream
        ? `${this.paint(this.prefixColor(label), `[${clean(label)}]`)} `
        : '';
    return new LineDecorator(prefix, Boolean(terminal));
  }

  onJobEnd(e: RunEvent<'job_end'>): void {
    if (this.options.mode !== 'grouped') return;
    if (!this.options.keepOrder) {
      this.show(e.job);
      return;
    }
    this.waiting.set(e.job.index, e.job);
    for (let job = this.waiting.get(this.nextIndex); job; job = this.waiting.get(this.nextIndex)) {
      this.waiting.delete(this.nextIndex++);
      this.show(job);
    }
  }

  private show(job: JobRecord): void {
    const { sink } = this.options;
    const shared = this.errSink === sink;
    const files = job.attempts.flatMap((a): AttemptFiles[] => {
      if (!a.logPath) return []; // no log: the attempt printed nothing
      // one destination for both: the combined log keeps their order, if it is here (a
      // remote attempt's is on its worker: its streams came back apart, one after the other)
      const here = this.logDir === undefined || dirname(a.logPath) === this.logDir;
      // none of a remote attempt's output came back (it was stopped first): none to show
      if (!here && !(a.stdoutPath || a.stderrPath)) return [];
      if ((shared && here) || !(a.stdoutPath || a.stderrPath))
        return [{ attempt: a.attempt, stdout: a.logPath, gone: 0 }];
      return [{ attempt: a.attempt, stdout: a.stdoutPath, stderr: a.stderrPath, gone: 0 }];
    });
    if (files.length === 0) return;
    // Asked for now, so each copy keeps its place among the lines written after it.
    const copied = Promise.all([
      sink.hold((out) => this.copy(job, files, shared ? ['stdout', 'stderr'] : ['stdout'], out)),
      !shared && files.some((f) => f.stderr)
        ? this.errSink.hold((out) => this.copy(job, files, ['stderr'], out, false))
        : undefined,
    ]);
    this.copying++;
    const written = copied.then(() => {
      this.copying--;
      this.options.pressure?.recheck();
    });
    this.chain = Promise.all([this.chain, written]).then(() => undefined);
  }

  /** Settles once every grouped copy so far is written. */
  drained(): Promise<void> {
    return this.chain;
  }

  onRunEnd(): Promise<void> {
    // A run that stopped early leaves gaps: show what ended, still in input order.
    for (const index of [...this.waiting.keys()].sort((a, b) => a - b)) {
      this.show(this.waiting.get(index)!);
    }
    this.waiting.clear();
    return this.drained().then(() => {
      const lost = this.lostLogs.error();
      if (lost !== undefined) throw lost;
    });
  }

  /**
   * Copies `streams` of every attempt, each attempt's in turn; with `framed`, inside the
   * job's header/group. Says whether the output was left without a newline (exact
   * output's last line).
   */
  private async copy(
    job: JobRecord,
    files: AttemptFiles[],
    streams: Array<'stdout' | 'stderr'>,
    out: NodeJS.WritableStream,
    framed = true,
  ): Promise<CopyEnd> {
    const p = this.paint;
    const { headers } = this.options;
    const took =
      job.startedAt === undefined ? '' : `, ${formatDuration(job.endedAt - job.startedAt)}`;
    const title = `${clean(job.name)} (${job.status}${took})`; // only ever shown to people
    const fold = framed && this.github;
    this.watch(out);
    if (fold) await write(out, workflowCommand('group', {}, title) + '\n');
    else if (framed && headers) await write(out, p('gray', `── ${title} ──`) + '\n');
    let midLine = false;
    for (const file of files) {
      let headed = false;
      for (const path of streams.map((stream) => file[stream])) {
        if (path === undefined || this.left.has(out)) continue;
        const size = sizeOf(path);
        if (size === undefined) this.gone(job, file, path);
        if (!size) continue;
        // piped, grouped output is the jobs' own bytes only (GitHub's folds are for people)
        if (!headed && files.length > 1 && (headers || this.github))
          await write(out, p('gray', `── attempt ${file.attempt} ──`) + '\n');
        headed = true;
        const copied = await copyFile(
          path,
          out,
          this.decorator(job.name, false),
          !this.options.exact || this.github,
        );
        if (copied === undefined) this.gone(job, file, path);
        else if (copied.wrote) midLine = copied.midLine;
      }
    }
    if (fold) await write(out, '::endgroup::\n');
    return { midLine: midLine && !fold };
  }

  /** Notes `out`'s reader leaving (see `left`); jobrun's stop on EPIPE is elsewhere. */
  private watch(out: NodeJS.WritableStream): void {
    if (this.watched.has(out)) return;
    this.watched.add(out);
    out.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.left.add(out);
    });
  }

  /**
   * One of an attempt's files is gone. Its combined log is its whole output; of its
   * per-stream files one may be missing because its stream printed nothing, but not
   * both: the attempt printed something (it has a log).
   */
  private gone(job: JobRecord, file: AttemptFiles, path: string): void {
    const streams = file.stderr === undefined ? 1 : 2;
    if (++file.gone === streams) this.lostLogs.lost(job, path);
  }

  private prefixColor(name: string): PaintCode {
    let c = this.colorOf.get(name);
    if (!c) {
      c = PREFIX_COLORS[this.colorOf.size % PREFIX_COLORS.length]!;
      // Names are only remembered while few, so a million jobs don't grow this map.
      if (this.colorOf.size < 1000) this.colorOf.set(name, c);
    }
    return c;
  }
}

async function write(out: NodeJS.WritableStream, text: string | Buffer): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** A log file copied: whether it wrote anything, and whether it ended without a newline. */
interface FileCopied extends CopyEnd {
  wrote: boolean;
}

/**
 * Copies a log file to `out` with backpressure, each line decorated (`LineDecorator`),
 * ending with a newline when `newline`. Undefined when the log vanished before it could
 * be opened; a copy that fails later keeps what it wrote.
 */
async function copyFile(
  path: string,
  out: NodeJS.WritableStream,
  decorator: LineDecorator,
  newline: boolean,
): Promise<FileCopied | undefined> {
  let last: number | undefined;
  try {
    for await (const buf of decorator.copy(createReadStream(path))) {
      if (buf.length) last = buf[buf.length - 1]!;
      await write(out, buf);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { wrote: last !== undefined, midLine: false };
  }
  if (last === undefined) return { wrote: false, midLine: false };
  if (newline && last !== 0x0a) {
    await write(out, '\n');
    last = 0x0a;
  }
  return { wrote: true, midLine: last !== 0x0a };
}

/**
 * A file's size, undefined when it is gone. An empty file (or one that cannot be
 * read) has nothing to show, not even an attempt header.
 */
function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : 0;
  }
}
