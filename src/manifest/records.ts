import { decodeBytes } from '../model/bytes.js';

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
): AsyncGenerator<string> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    rest = rest.length === 0 ? buf : Buffer.concat([rest, buf]);
    let start = 0;
    for (let at = rest.indexOf(delimiter); at !== -1; at = rest.indexOf(delimiter, start)) {
      yield decodeBytes(rest.subarray(start, at));
      start = at + delimiter.length;
    }
    rest = rest.subarray(start);
  }
  if (rest.length > 0) yield decodeBytes(rest);
}

const NEWLINE = Buffer.from('\n');

/**
 * The bytes of a `--delimiter` value: C escapes `\n` `\t` `\r` `\0` `\\` and `\xHH`
 * (as xargs takes them), anything else as written.
 */
export function parseDelimiter(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\' || i + 1 >= text.length) {
      bytes.push(...Buffer.from(c));
      continue;
    }
    const next = text[++i]!;
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, '0': 0, '\\': 92 };
    if (next in simple) bytes.push(simple[next]!);
    else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(92, ...Buffer.from(next));
  }
  return Buffer.from(bytes);
}
