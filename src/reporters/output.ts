import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { JobRecord, RunEvent } from '../model/events.js';
import { formatDuration, painter, type Paint, type PaintCode } from './format.js';
import type { LineSink } from './sink.js';
import { workflowCommand } from './github.js';
import { clean, cleanOutput, outputCleaner } from './text.js';
import type { Reporter } from './types.js';

export type OutputMode = 'stream' | 'grouped' | 'none';
export const OUTPUT_MODES: readonly OutputMode[] = ['stream', 'grouped', 'none'];

export interface OutputOptions {
  mode: 'stream' | 'grouped';
  sink: LineSink;
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
}

const PREFIX_COLORS: readonly PaintCode[] = ['cyan', 'magenta', 'blue', 'yellow', 'green'];

/**
 * Job output in the terminal; the log files stay as they are.
 * - `stream`: each line as it comes, prefixed `[name]` (lines arrive whole from the executor).
 * - `grouped`: a job's whole output once it ends, copied from its log file(s) through a
 *   read stream (never held in memory), one job at a time. Under GitHub Actions each job
 *   folds into a `::group::` block.
 */
export class OutputReporter implements Reporter {
  readonly needsOutput: boolean;
  private readonly paint: Paint;
  private readonly github: boolean;
  private chain: Promise<void> = Promise.resolve();
  private readonly colorOf = new Map<string, PaintCode>();

  constructor(private readonly options: OutputOptions) {
    this.needsOutput = options.mode === 'stream';
    this.paint = painter(Boolean(options.color));
    this.github = (options.env ?? process.env).GITHUB_ACTIONS === 'true';
  }

  onJobOutput(e: RunEvent<'job_output'>): void {
    if (this.options.mode !== 'stream') return;
    const prefix = this.paint(this.prefixColor(e.name), `[${clean(e.name)}]`);
    this.options.sink.line(`${prefix} ${this.options.terminal ? cleanOutput(e.line) : e.line}`);
  }

  onJobEnd(e: RunEvent<'job_end'>): void {
    if (this.options.mode !== 'grouped') return;
    const logs = e.job.attempts.flatMap((a) =>
      a.logPath ? [{ attempt: a.attempt, path: a.logPath }] : [],
    );
    if (logs.length === 0) return;
    const job = e.job;
    // Asked for now, so the copy keeps its place among the lines written after it.
    const copied = this.options.sink.hold((out) => this.copy(job, logs, out));
    this.chain = Promise.all([this.chain, copied]).then(() => undefined);
  }

  /** Settles once every grouped copy so far is written. */
  drained(): Promise<void> {
    return this.chain;
  }

  onRunEnd(): Promise<void> {
    return this.drained();
  }

  private async copy(
    job: JobRecord,
    logs: { attempt: number; path: string }[],
    out: NodeJS.WritableStream,
  ): Promise<void> {
    const p = this.paint;
    const { headers, terminal } = this.options;
    const took =
      job.startedAt === undefined ? '' : `, ${formatDuration(job.endedAt - job.startedAt)}`;
    const title = `${clean(job.name)} (${job.status}${took})`; // only ever shown to people
    if (this.github) await write(out, workflowCommand('group', {}, title) + '\n');
    else if (headers) await write(out, p('gray', `── ${title} ──`) + '\n');
    for (const log of logs) {
      // piped, grouped output is the jobs' own bytes only (GitHub's folds are for people)
      if (logs.length > 1 && (headers || this.github))
        await write(out, p('gray', `── attempt ${log.attempt} ──`) + '\n');
      await copyFile(log.path, out, Boolean(terminal));
    }
    if (this.github) await write(out, '::endgroup::\n');
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

/**
 * Copies a log file to `out` with backpressure, ending with a newline; for a terminal,
 * cleaned of escapes (`cleanOutput`). A vanished log is skipped.
 */
async function copyFile(
  path: string,
  out: NodeJS.WritableStream,
  terminal: boolean,
): Promise<void> {
  let last = 0x0a;
  const decoder = terminal ? new StringDecoder('utf8') : undefined;
  const cleaner = outputCleaner();
  try {
    for await (const chunk of createReadStream(path)) {
      const buf = chunk as Buffer;
      if (buf.length) last = buf[buf.length - 1]!;
      await write(out, decoder ? cleaner.push(decoder.write(buf)) : buf);
    }
    if (decoder) await write(out, cleaner.push(decoder.end()) + cleaner.end());
  } catch {
    return;
  }
  if (last !== 0x0a) await write(out, '\n');
}
