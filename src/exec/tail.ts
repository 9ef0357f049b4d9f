import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

/** Limits for {@link readTail}; the defaults are what the report keeps of a failed job. */
export interface TailOptions {
  /** At most this many bytes of UTF-8 in the returned string. Default 4096. */
  maxBytes?: number;
  /** At most this many lines. Default 20. */
  maxLines?: number;
}

const DEFAULT_MAX_BYTES = 4096;
const DEFAULT_MAX_LINES = 20;

/**
 * The last lines of a (log) file, read from its end so memory stays bounded
 * whatever the file's size. Decoded as UTF-8 with invalid bytes replaced by
 * U+FFFD; a character cut by the byte limit is dropped rather than mangled, and
 * so is the first line when only its end fits (unless it is the only line).
 * The trailing newline is removed. Returns '' for an empty or unreadable file:
 * a tail is a courtesy for the report and must never fail the attempt.
 */
export function readTail(path: string, options: TailOptions = {}): string {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxLines = options.maxLines ?? DEFAULT_MAX_LINES;
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    if (length === 0) return '';
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, size - length + got);
      if (n === 0) break;
      got += n;
    }
    return tailOfBuffer(buf.subarray(0, got), got < size, maxBytes, maxLines);
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** The tail of `buf`, which is the end of a longer text when `cut` is set. */
export function tailOfBuffer(
  buf: Buffer,
  cut: boolean,
  maxBytes: number,
  maxLines: number,
): string {
  let bytes = cut ? skipContinuationBytes(buf) : buf;
  if (cut) {
    const nl = bytes.indexOf(0x0a);
    // Drop the partial first line, unless it is all there is (one huge line).
    if (nl !== -1 && nl < bytes.length - 1) bytes = bytes.subarray(nl + 1);
  }
  let text = bytes.toString('utf8');
  if (text.endsWith('\n')) text = text.slice(0, -1);
  const lines = text.split('\n');
  if (lines.length > maxLines) text = lines.slice(-maxLines).join('\n');
  // Replacement characters take 3 bytes for 1 invalid byte: re-trim if it grew.
  const encoded = Buffer.from(text, 'utf8');
  if (encoded.length > maxBytes) {
    text = skipContinuationBytes(encoded.subarray(encoded.length - maxBytes)).toString('utf8');
  }
  return text;
}

/** Skip UTF-8 continuation bytes (10xxxxxx) at the start: the rest of a cut character. */
function skipContinuationBytes(buf: Buffer): Buffer {
  let i = 0;
  while (i < buf.length && i < 3 && ((buf[i] ?? 0) & 0xc0) === 0x80) i++;
  return buf.subarray(i);
}
