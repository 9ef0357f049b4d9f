import fs from 'node:fs';
import path from 'node:path';
import { encodeBytes } from '../model/bytes.js';
import type { OutputStream } from '../exec/types.js';

const NEWLINE = Buffer.from('\n');
/** Bytes of one file's lines held before they are appended: one write, not one per line. */
const HELD_BYTES = 64 * 1024;

interface Held {
  parts: Buffer[];
  bytes: number;
}

/**
 * `--results DIR` on Redis: a remote job's stdout and stderr come back as output lines
 * over the run's capped stream (see `OutputWriter`) and are written here, one file per
 * job, attempt and stream, under the coordinator's log folder; the attempt's result
 * then names these files, as a local attempt names its own. The workers wait for the
 * coordinator to read them, up to a stall (see `OutputWriter`): then the oldest go.
 * Lines are appended in steps of `HELD_BYTES` (a job's million lines would otherwise
 * cost three system calls each); `paths`, asked as the attempt ends, writes the rest.
 */
export class StreamFiles {
  private readonly held = new Map<string, Held>();

  constructor(private readonly dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  /** Appends a line's raw bytes, as the job printed them (non-UTF-8 and `\r` included). */
  line(
    jobKey: string,
    attempt: number,
    stream: OutputStream,
    line: string,
    newline: boolean,
  ): void {
    const file = this.pathOf(jobKey, attempt, stream);
    let held = this.held.get(file);
    if (held === undefined) this.held.set(file, (held = { parts: [], bytes: 0 }));
    const bytes = encodeBytes(line);
    held.parts.push(bytes);
    held.bytes += bytes.length;
    if (newline) {
      held.parts.push(NEWLINE);
      held.bytes++;
    }
    if (held.bytes >= HELD_BYTES) this.write(file);
  }

  /**
   * The files of one attempt, whole (absent when it printed nothing on that stream).
   * Of an attempt the coordinator `stopped`, the worker sent the rest no more (no one
   * was to see it, or the run was stopping): only the files that came back are named,
   * so none is taken for a log removed.
   */
  paths(
    jobKey: string,
    attempt: number,
    stopped = false,
  ): { stdoutPath?: string; stderrPath?: string } {
    const paths = {
      stdoutPath: this.pathOf(jobKey, attempt, 'stdout'),
      stderrPath: this.pathOf(jobKey, attempt, 'stderr'),
    };
    this.write(paths.stdoutPath);
    this.write(paths.stderrPath);
    if (!stopped) return paths;
    return Object.fromEntries(Object.entries(paths).filter(([, file]) => fs.existsSync(file)));
  }

  private write(file: string): void {
    const held = this.held.get(file);
    if (held === undefined) return;
    this.held.delete(file);
    try {
      fs.appendFileSync(file, Buffer.concat(held.parts, held.bytes));
    } catch {
      // best effort, as the lines are (a full disk): the worker's log keeps the output whole
    }
  }

  private pathOf(jobKey: string, attempt: number, stream: OutputStream): string {
    return path.join(this.dir, `${jobKey}.${attempt}.remote.${stream}`);
  }
}
