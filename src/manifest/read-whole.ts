/**
 * Reads a file named on the command line (a manifest, a report) whole. What is no
 * regular file is refused before it is opened: opening a FIFO blocks until a writer
 * comes, and a synchronous read of one (or of a terminal) would hold jobrun's only
 * thread, with no signal handled meanwhile; `/dev/zero` never ends.
 */
import { readFile, stat } from 'node:fs/promises';
import { readProblem, UsageError } from '../errors.js';

/** `file` as named (for messages), read at `abs`: at most `maxBytes`, else a `UsageError`. */
export async function readWhole(
  file: string,
  abs: string,
  what: string,
  maxBytes: number,
): Promise<Buffer> {
  try {
    const info = await stat(abs);
    if (info.isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
    if (!info.isFile())
      throw new UsageError(`${what} ${file} is not a regular file (a device or a pipe?)`);
    if (info.size > maxBytes) throw new UsageError(tooBig(what, file, maxBytes));
    return await readFile(abs);
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(readProblem(file, err, what));
  }
}

export function tooBig(what: string, file: string, maxBytes: number): string {
  return `${what} ${file} is larger than ${maxBytes / 1024 / 1024} MB; refusing to read it`;
}
