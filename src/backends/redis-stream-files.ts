import fs from 'node:fs';
import path from 'node:path';
import { encodeBytes } from '../model/bytes.js';
import type { OutputStream } from '../exec/types.js';

const NEWLINE = Buffer.from('\n');

/**
 * `--results DIR` on Redis: a remote job's stdout and stderr come back as output lines
 * over the run's capped stream (see `OutputWriter`) and are written here, one file per
 * job, attempt and stream, under the coordinator's log folder; the attempt's result
 * then names these files, as a local attempt names its own. The workers wait for the
 * coordinator to read them, up to a stall (see `OutputWriter`): then the oldest go.
 */
export class StreamFiles {
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
    const bytes = encodeBytes(line);
    fs.appendFileSync(
      this.pathOf(jobKey, attempt, stream),
      newline ? Buffer.concat([bytes, NEWLINE]) : bytes,
    );
  }

  /** The files of one attempt (absent when it printed nothing on that stream). */
  paths(jobKey: string, attempt: number): { stdoutPath: string; stderrPath: string } {
    return {
      stdoutPath: this.pathOf(jobKey, attempt, 'stdout'),
      stderrPath: this.pathOf(jobKey, attempt, 'stderr'),
    };
  }

  private pathOf(jobKey: string, attempt: number, stream: OutputStream): string {
    return path.join(this.dir, `${jobKey}.${attempt}.remote.${stream}`);
  }
}
