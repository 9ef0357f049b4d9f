import fs from 'node:fs';

/** How much of a journal is read at once. */
const CHUNK = 1 << 20;

/**
 * Calls `fn` with each line of `file`, read a chunk at a time: a journal of millions
 * of jobs is never one string (V8 caps a string at 512 MB, and a copy of the whole
 * file would be held besides). Synchronous, as opening a journal is. The last line
 * need not end in a newline (a torn write).
 */
export function forEachLine(file: string, fn: (line: string) => void): number {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(CHUNK);
  let carry = Buffer.alloc(0);
  let bytes = 0;
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      bytes += n;
      const chunk =
        carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, n)]) : buf.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
        fn(chunk.toString('utf8', start, nl));
        start = nl + 1;
      }
      // copied: `buf` is read into again
      carry = Buffer.from(chunk.subarray(start));
    }
    if (carry.length > 0) fn(carry.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
  return bytes;
}
