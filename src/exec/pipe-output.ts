import { createWriteStream, type WriteStream } from 'node:fs';
import { finished, type Readable } from 'node:stream';
import { LineSplitter } from './line-splitter.js';
import type { OutputStream } from './types.js';

/** After the job's shell exits, how long its pipes may stay silent before we stop reading. */
const PIPE_IDLE_MS = 200;
/** Upper bound on reading after exit, whatever a leftover (escaped) process keeps writing. */
const PIPE_MAX_MS = 2_000;

/**
 * Output in line mode: both pipes are copied to the log file and split into
 * lines for `onLine`. Backpressure from the log file pauses the pipes (and so,
 * through the kernel, the child), which keeps memory bounded for any amount of
 * output. Interleaving between stdout and stderr is only as good as the order
 * in which the two pipes are read.
 */
export class PipeOutput {
  private readonly log: WriteStream;
  private readonly pipes: Readable[] = [];
  private readonly splitters: LineSplitter[] = [];
  private open = 0;
  private paused = false;
  private logFailed = false;
  /** The first error writing the log file (ENOSPC, EIO), if any. */
  logError: NodeJS.ErrnoException | undefined;
  private bytes = 0;
  private lastData = 0;
  private onQuiet: (() => void) | undefined;

  constructor(
    fd: number,
    logPath: string,
    private readonly onLine: (stream: OutputStream, line: string) => void,
  ) {
    this.log = createWriteStream(logPath, { fd });
    this.log.on('drain', () => this.resume());
    this.log.on('error', (err: NodeJS.ErrnoException) => {
      // A full disk must not stop the job: keep feeding onLine, drop the log.
      this.logFailed = true;
      this.logError ??= err;
      this.resume();
    });
  }

  /** Start reading one of the child's pipes. */
  attach(name: OutputStream, pipe: Readable | null): void {
    if (pipe === null) return;
    const splitter = new LineSplitter((line) => this.emitLine(name, line));
    this.pipes.push(pipe);
    this.splitters.push(splitter);
    this.open++;
    let done = false;
    const onDone = (): void => {
      if (done) return;
      done = true;
      this.open--;
      if (this.open === 0) this.onQuiet?.();
    };
    pipe.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.lastData = performance.now();
      if (!this.logFailed && !this.log.write(chunk)) this.pause();
      splitter.push(chunk);
    });
    pipe.on('end', onDone);
    pipe.on('close', onDone);
    pipe.on('error', onDone);
  }

  /**
   * Called once the child has exited: read what is left in the pipes (until they
   * end, or stay silent for a while), flush partial last lines, close the log.
   * Resolves with the number of bytes of output.
   */
  async finish(): Promise<number> {
    await this.drainPipes();
    for (const pipe of this.pipes) pipe.destroy();
    for (const splitter of this.splitters) splitter.end();
    await new Promise<void>((resolve) => {
      finished(this.log, () => resolve());
      this.log.end();
    });
    return this.bytes;
  }

  private drainPipes(): Promise<void> {
    if (this.open === 0) return Promise.resolve();
    const exitedAt = performance.now();
    this.lastData = exitedAt;
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        this.onQuiet = undefined;
        resolve();
      };
      const check = (): void => {
        const now = performance.now();
        const idle = now - this.lastData;
        if (now - exitedAt >= PIPE_MAX_MS || (!this.paused && idle >= PIPE_IDLE_MS)) {
          done();
          return;
        }
        const wait = this.paused ? PIPE_IDLE_MS : PIPE_IDLE_MS - idle;
        timer = setTimeout(check, Math.min(wait, PIPE_MAX_MS - (now - exitedAt)));
      };
      this.onQuiet = done;
      check();
    });
  }

  private emitLine(stream: OutputStream, line: string): void {
    try {
      this.onLine(stream, line);
    } catch {
      // A failing line consumer (a reporter bug) must not kill the job or the runner.
    }
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const pipe of this.pipes) pipe.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.lastData = performance.now();
    for (const pipe of this.pipes) pipe.resume();
  }
}
