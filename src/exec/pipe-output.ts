import { closeSync, createWriteStream, type WriteStream } from 'node:fs';
import { finished, type Readable } from 'node:stream';
import { LineSplitter } from './line-splitter.js';
import type { Backpressure, OutputStream } from './types.js';

/** After the job's shell exits, how long its pipes may stay silent before we stop reading. */
const PIPE_IDLE_MS = 200;
/** Upper bound on reading after exit, whatever a leftover (escaped) process keeps writing. */
const PIPE_MAX_MS = 2_000;
/**
 * What a stopped or timed-out attempt's pipes give after its exit is read on while the
 * reader of jobrun's output is behind, up to this much: all a dead job left in its pipes
 * (Linux's largest pipe holds 1 MiB), not what an escaped process writes on and on.
 */
const PAST_READER_BYTES = 1024 * 1024;

/** What piped output is used for besides the log file; each part is optional. */
export interface PipeUses {
  /** Each whole line of either stream, and whether a newline ended it (see `LineHandler`). */
  onLine?: (stream: OutputStream, line: string, newline: boolean) => void;
  /** Files that get only stdout / only stderr (the log still gets both), each made at its stream's first byte. */
  separate?: { stdoutPath: string; stderrPath: string };
  /** Keep the first this-many bytes of stdout in memory (see `captured`). */
  captureBytes?: number;
  /** Where `onLine`'s lines go falling behind: the pipes wait while it is `blocked`. */
  backpressure?: Backpressure;
}

/**
 * Piped output: both pipes are copied to the log file (in the order they are
 * read, so stdout and stderr interleave as closely as the two pipes allow) and,
 * as asked, split into lines for `onLine`, copied each to its own file, and the
 * start of stdout kept for a captured result. Backpressure from any file pauses
 * the pipes (and so, through the kernel, the child), which keeps memory bounded
 * for any amount of output; so does jobrun's own output falling behind its reader
 * (`backpressure`), for the lines given to `onLine`.
 */
export class PipeOutput {
  /** Made at the first byte: a silent job's log descriptor is just closed, at once. */
  private log: WriteStream | undefined;
  private readonly files = new Map<OutputStream, WriteStream>();
  private readonly kept: Buffer[] = [];
  private keptBytes = 0;
  private cut = false;
  /** Files that asked the pipes to wait (write returned false) and have not drained yet. */
  private readonly blocked = new Set<WriteStream>();
  private readonly pipes: Readable[] = [];
  private readonly splitters: LineSplitter[] = [];
  private open = 0;
  private paused = false;
  /** Paused for `backpressure`: since when, and how long in all before that. */
  private heldSince: number | undefined;
  private heldMs = 0;
  /** Time held for the reader counts towards `PIPE_MAX_MS` after all (see `bound`). */
  private bounded = false;
  /** The child has exited: its pipes hold what it wrote (see `drainPipes`). */
  private exited = false;
  /** Bytes read past a reader that was behind, once bounded and exited. */
  private pastReader = 0;
  /** Reading stopped while the pipes waited for the reader: what followed is not kept. */
  private cutForReader = false;
  private logFailed = false;
  /** The first error writing the log file (ENOSPC, EIO), if any. */
  logError: NodeJS.ErrnoException | undefined;
  private bytes = 0;
  private lastData = 0;
  private onQuiet: (() => void) | undefined;
  private fdClosed = false;

  constructor(
    private readonly fd: number,
    private readonly logPath: string,
    private readonly uses: PipeUses,
  ) {}

  /** The log as a stream, made once; most small jobs never write a byte. */
  private logStream(): WriteStream {
    if (this.log !== undefined) return this.log;
    const log = createWriteStream(this.logPath, { fd: this.fd });
    log.on('drain', () => this.drained(log));
    log.on('error', (err: NodeJS.ErrnoException) => {
      // A full disk must not stop the job: keep feeding onLine, drop the log.
      this.logFailed = true;
      this.logError ??= err;
      this.drained(log);
    });
    this.log = log;
    return log;
  }

  /** The kept start of stdout, and whether stdout went on beyond it. */
  captured(): { bytes: Buffer; cut: boolean } {
    return { bytes: Buffer.concat(this.kept), cut: this.cut };
  }

  /**
   * Why the output is not whole, if it is not: reading stopped `PIPE_MAX_MS` after the
   * exit of a stopped or timed-out attempt while its pipes waited for the reader, after
   * `bytes` (more than `PAST_READER_BYTES` came past the reader: a process that left the
   * job's group wrote on).
   */
  cutShort(): string | undefined {
    if (!this.cutForReader) return undefined;
    return (
      `output cut after ${this.bytes} bytes: more than 1 MiB came after the job's end (a ` +
      `process that left its group?) as it was stopped, while jobrun's reader was behind`
    );
  }

  /** Start reading one of the child's pipes. */
  attach(name: OutputStream, pipe: Readable | null): void {
    if (pipe === null) return;
    const onLine = this.uses.onLine;
    const splitter = onLine
      ? new LineSplitter((line, newline) => this.emitLine(name, line, newline))
      : undefined;
    this.pipes.push(pipe);
    // Node resumes a child's pipes itself when the child exits (to drain them): a pipe
    // held for a file or the reader stays paused until they let it go
    pipe.on('resume', () => {
      if (this.paused) pipe.pause();
    });
    if (splitter) this.splitters.push(splitter);
    this.open++;
    let done = false;
    const onDone = (): void => {
      if (done) return;
      done = true;
      this.open--;
      if (this.open === 0) this.onQuiet?.();
    };
    const path = this.uses.separate?.[name === 'stdout' ? 'stdoutPath' : 'stderrPath'];
    let file: WriteStream | undefined;
    pipe.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.lastData = performance.now();
      if (!this.logFailed) {
        const log = this.logStream();
        if (!log.write(chunk)) this.block(log);
      }
      // made at the stream's first byte: a silent job costs no files to open and remove
      if (file === undefined && path !== undefined) file = this.openFile(name, path);
      if (this.files.get(name) === file && file?.write(chunk) === false) this.block(file);
      if (name === 'stdout' && this.uses.captureBytes !== undefined) this.keep(chunk);
      splitter?.push(chunk);
      const backpressure = this.uses.backpressure;
      if (backpressure?.blocked && !this.readsPastReader(chunk.length))
        this.waitForReader(backpressure);
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
    if (this.log === undefined) this.closeUnusedLog();
    const streams = [...this.files.values()];
    if (this.log !== undefined) streams.push(this.log);
    await Promise.all(streams.map(endStream));
    return this.bytes;
  }

  /**
   * The attempt is being stopped (or timed out): after its exit, what is left in its
   * pipes is read without waiting for a slow reader of jobrun's output (it is all the
   * job wrote, up to `PAST_READER_BYTES`), and reading ends `PIPE_MAX_MS` after the exit
   * at most. Until then, time spent waiting for the reader does not count: a job that
   * ended on its own loses no byte to a reader that fell behind.
   */
  bound(): void {
    this.bounded = true;
    this.readPastReader();
  }

  /** No byte came: the descriptor is closed here, once (no stream owns it). */
  private closeUnusedLog(): void {
    if (this.fdClosed) return;
    this.fdClosed = true;
    try {
      closeSync(this.fd);
    } catch {
      // nothing was written through it: there is nothing to lose
    }
  }

  private openFile(name: OutputStream, path: string): WriteStream {
    const file = createWriteStream(path);
    file.on('drain', () => this.drained(file));
    file.on('error', () => {
      // like the log: a file that cannot be written is dropped, the job goes on
      this.files.delete(name);
      this.drained(file);
    });
    this.files.set(name, file);
    return file;
  }

  /** Keeps stdout's first `captureBytes` bytes; notes when there was more. */
  private keep(chunk: Buffer): void {
    const room = (this.uses.captureBytes ?? 0) - this.keptBytes;
    if (chunk.length > room) this.cut = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    // a copy: the pipe's chunk may be a view into a pooled buffer
    this.kept.push(Buffer.from(part));
    this.keptBytes += part.length;
  }

  private drainPipes(): Promise<void> {
    this.exited = true;
    if (this.open === 0) return Promise.resolve();
    const exitedAt = performance.now();
    const heldAtExit = this.held(exitedAt);
    this.lastData = exitedAt;
    this.readPastReader();
    return new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (): void => {
        if (this.open > 0 && this.heldSince !== undefined) this.cutForReader = true;
        if (timer !== undefined) clearTimeout(timer);
        this.onQuiet = undefined;
        resolve();
      };
      const check = (): void => {
        const now = performance.now();
        const idle = now - this.lastData;
        const waited = now - exitedAt - (this.bounded ? 0 : this.held(now) - heldAtExit);
        if (waited >= PIPE_MAX_MS || (!this.paused && idle >= PIPE_IDLE_MS)) {
          done();
          return;
        }
        const wait = this.paused ? PIPE_IDLE_MS : PIPE_IDLE_MS - idle;
        timer = setTimeout(check, Math.max(1, Math.min(wait, PIPE_MAX_MS - waited)));
      };
      this.onQuiet = done;
      check();
    });
  }

  private emitLine(stream: OutputStream, line: string, newline: boolean): void {
    try {
      this.uses.onLine?.(stream, line, newline);
    } catch {
      // A failing line consumer (a reporter bug) must not kill the job or the runner.
    }
  }

  /** A file asked to wait: pause until every file that asked has drained. */
  private block(stream: WriteStream): void {
    this.blocked.add(stream);
    this.update();
  }

  private drained(stream: WriteStream): void {
    this.blocked.delete(stream);
    this.update();
  }

  /**
   * A stopped attempt that has exited: its pipes no longer wait for the reader, for
   * the first `PAST_READER_BYTES` (see `readsPastReader`).
   */
  private readPastReader(): void {
    if (!this.bounded || !this.exited || this.heldSince === undefined) return;
    if (this.pastReader > PAST_READER_BYTES) return;
    this.heldMs = this.held(performance.now());
    this.heldSince = undefined;
    this.update();
  }

  /** Whether `bytes` just read while the reader is behind may pass it (see `bound`). */
  private readsPastReader(bytes: number): boolean {
    if (!this.bounded || !this.exited) return false;
    this.pastReader += bytes;
    return this.pastReader <= PAST_READER_BYTES;
  }

  /** jobrun's output fell behind its reader: pause until it caught up. */
  private waitForReader(backpressure: Backpressure): void {
    if (this.heldSince !== undefined) return;
    this.heldSince = performance.now();
    this.update();
    backpressure.whenClear(() => {
      this.heldMs = this.held(performance.now());
      this.heldSince = undefined;
      this.update();
    });
  }

  /** How long the pipes waited for the reader, up to `now`. */
  private held(now: number): number {
    return this.heldMs + (this.heldSince === undefined ? 0 : now - this.heldSince);
  }

  /** Pipes are read unless a file or the reader asked them to wait. */
  private update(): void {
    const pause = this.blocked.size > 0 || this.heldSince !== undefined;
    if (pause === this.paused) return;
    this.paused = pause;
    if (!pause) this.lastData = performance.now();
    for (const pipe of this.pipes) {
      if (pause) pipe.pause();
      else pipe.resume();
    }
  }
}

function endStream(stream: WriteStream): Promise<void> {
  return new Promise<void>((resolve) => {
    finished(stream, () => resolve());
    stream.end();
  });
}
