import { isUtf8 } from 'node:buffer';
import { decodeBytes, encodeBytes } from '../model/bytes.js';
import { UsageError } from '../errors.js';

/**
 * Records of a byte stream, read only as fast as they are consumed: the stream is
 * pulled one chunk at a time by the async iterator, so a paused consumer leaves the
 * rest in the pipe and the producer blocks, which is the backpressure `--max-queue`
 * needs.
 *
 * Records are split at the byte level on `delimiter` (default `\n`; `-0` gives NUL),
 * and each is decoded with `decodeBytes`, so bytes that are not UTF-8 survive to the
 * job exactly. As in GNU parallel, an empty record is an item (an empty argument),
 * a `\r` before the newline is kept, and a final delimiter does not start an empty
 * last record.
 */
export async function* readRecords(
  stream: AsyncIterable<Buffer | string>,
  delimiter: Buffer = NEWLINE,
  what?: string,
): AsyncGenerator<string> {
  for await (const records of readRecordBatches(stream, delimiter, what)) yield* records;
}

/**
 * The longest record taken, in bytes: Linux passes no single argument longer than
 * 128 KiB to a program (MAX_ARG_STRLEN), and a job's command line is one argument of
 * its shell, so a longer record could never run. Refusing it early also keeps memory
 * bounded whatever arrives (a 300 MB line without a newline) and the buffering linear.
 */
const MAX_RECORD_BYTES = 128 * 1024;

/**
 * The records of each chunk together: a generator layer per record would cost a
 * promise and a microtask per job on top of the consumer's own. A record longer than
 * `maxBytes` throws, naming it as `${what} N` (the run stops with the message, exit 2).
 */
export async function* readRecordBatches(
  stream: AsyncIterable<Buffer | string>,
  delimiter: Buffer = NEWLINE,
  what = 'stdin line',
  maxBytes = MAX_RECORD_BYTES,
): AsyncGenerator<string[]> {
  let rest: Buffer = Buffer.alloc(0);
  let seen = 0;
  const text = isUtf8(delimiter) ? delimiter.toString('utf8') : undefined;
  const check = (records: string[]): string[] => {
    for (const r of records) {
      seen++;
      if (r.length > maxBytes / 3 && Buffer.byteLength(r) > maxBytes) throw tooLong(seen);
    }
    return records;
  };
  const tooLong = (n: number) =>
    new UsageError(
      `${what} ${n} is longer than ${maxBytes / 1024} KiB, the most one job's command line can hold`,
    );
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    rest = rest.length === 0 ? buf : Buffer.concat([rest, buf]);
    const end = rest.lastIndexOf(delimiter);
    if (end === -1) {
      if (rest.length > maxBytes) throw tooLong(seen + 1);
      continue;
    }
    const whole = rest.subarray(0, end);
    rest = rest.subarray(end + delimiter.length);
    // Valid UTF-8 (the usual case) splits as text, at the same places as bytes would.
    if (text !== undefined && isUtf8(whole)) yield check(whole.toString('utf8').split(text));
    else yield check(splitBytes(whole, delimiter));
    if (rest.length > maxBytes) throw tooLong(seen + 1);
  }
  if (rest.length > 0) yield check([decodeBytes(rest)]);
}

const NEWLINE = Buffer.from('\n');

function splitBytes(buf: Buffer, delimiter: Buffer): string[] {
  const records: string[] = [];
  let start = 0;
  for (let at = buf.indexOf(delimiter); at !== -1; at = buf.indexOf(delimiter, start)) {
    records.push(decodeBytes(buf.subarray(start, at)));
    start = at + delimiter.length;
  }
  records.push(decodeBytes(buf.subarray(start)));
  return records;
}

/**
 * The bytes of a `--delimiter` value: C escapes `\n` `\t` `\r` `\0` `\\` and `\xHH`
 * (as xargs takes them), anything else as written.
 */
export function parseDelimiter(text: string): Buffer {
  const bytes: number[] = [];
  // by code point, each kept as its bytes: an emoji is one character, and a raw byte
  // from a non-UTF-8 argument (carried the surrogateescape way) stays that byte
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c !== '\\' || i + 1 >= chars.length) {
      bytes.push(...encodeBytes(c));
      continue;
    }
    const next = chars[++i]!;
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92 };
    const hex = chars.slice(i + 1, i + 3).join('');
    if (next in simple) bytes.push(simple[next]!);
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(92, ...encodeBytes(next));
  }
  return Buffer.from(bytes);
}
