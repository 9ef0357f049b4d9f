/**
 * Reads a file named on the command line (a manifest, a report) whole: a regular file,
 * or a pipe (`jobrun run <(make-jobs)`, a FIFO), read as the event loop hears of its
 * data, so that stop signals are still handled while nothing is written yet. A device
 * is refused before it is opened: a terminal would wait for input no one means to
 * type, and `/dev/zero` never ends.
 */
import { constants, openSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { Socket } from 'node:net';
import { readProblem, UsageError } from '../errors.js';

/** What was read, and whether it came through a pipe (nothing to find beside it). */
export interface Whole {
  bytes: Buffer;
  pipe: boolean;
}

/** `file` as named (for messages), read at `abs`: at most `maxBytes`, else a `UsageError`. */
export async function readWhole(
  file: string,
  abs: string,
  what: string,
  maxBytes: number,
): Promise<Whole> {
  try {
    const info = await stat(abs);
    if (info.isDirectory()) throw Object.assign(new Error('a directory'), { code: 'EISDIR' });
    if (info.isFIFO()) return { bytes: await readPipe(file, abs, what, maxBytes), pipe: true };
    if (!info.isFile()) throw new UsageError(`${what} ${file} is not a regular file (a device?)`);
    if (info.size > maxBytes) throw new UsageError(tooBig(what, file, maxBytes));
    return { bytes: await readFile(abs), pipe: false };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(readProblem(file, err, what));
  }
}

/**
 * A pipe read to its end, refused as soon as it passes `maxBytes`. Opened without
 * waiting for a writer and read as the event loop hears of data: a FIFO nobody writes
 * to then holds nothing (no thread blocked in `open`, which would also hold jobrun's
 * exit), and stop signals are handled while it waits (see `early-stops.ts`).
 */
async function readPipe(file: string, abs: string, what: string, maxBytes: number) {
  const stream = new Socket({
    fd: openSync(abs, constants.O_RDONLY | constants.O_NONBLOCK),
    readable: true,
    writable: false,
  });
  try {
    return await readCapped(stream, file, what, maxBytes);
  } finally {
    stream.destroy();
  }
}

/** `stream` read to its end, refused as soon as it passes `maxBytes` (`file` names it). */
export async function readCapped(
  stream: NodeJS.ReadableStream,
  file: string,
  what: string,
  maxBytes: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += buf.length;
    if (size > maxBytes) throw new UsageError(tooBig(what, file, maxBytes));
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function tooBig(what: string, file: string, maxBytes: number): string {
  return `${what} ${file} is larger than ${maxBytes / 1024 / 1024} MB; refusing to read it`;
}
