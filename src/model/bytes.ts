/**
 * Raw bytes in JavaScript strings, the way Python's `surrogateescape` keeps them.
 *
 * File names and input lines are bytes, not text: a name that is not valid UTF-8 must
 * reach the job exactly. Every stage of jobrun passes items around as strings, so an
 * item's bytes are decoded as UTF-8 where they are valid, and each byte of an invalid
 * sequence becomes a lone low surrogate U+DC80..U+DCFF (0x80..0xFF; ASCII is always
 * valid). `encodeBytes` reverses that exactly, so `encodeBytes(decodeBytes(b))` equals
 * `b` for every byte string. Where a string is shown to a person, `displayText` turns
 * the escapes into U+FFFD.
 */

/** True when `s` carries escaped raw bytes (lone surrogates from `decodeBytes`). */
export function hasRawBytes(s: string): boolean {
  return /[\uDC80-\uDCFF]/.test(s) && !s.isWellFormed();
}

/** Bytes → string, losslessly: invalid UTF-8 bytes become U+DC80 + byte. */
export function decodeBytes(buf: Uint8Array): string {
  let out = '';
  let i = 0;
  const n = buf.length;
  let runStart = 0;
  const flush = (end: number): void => {
    if (end > runStart)
      out += Buffer.from(buf.buffer, buf.byteOffset + runStart, end - runStart).toString('utf8');
  };
  while (i < n) {
    const b = buf[i]!;
    const len = b < 0x80 ? 1 : sequenceLength(buf, i);
    if (len > 0) {
      i += len;
      continue;
    }
    flush(i);
    out += String.fromCharCode(0xdc00 + b);
    i += 1;
    runStart = i;
  }
  flush(n);
  return out;
}

/** String → bytes: UTF-8, except that U+DC80..U+DCFF standing alone become one raw byte. */
export function encodeBytes(s: string): Buffer {
  if (s.isWellFormed()) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a proper pair: plain UTF-8
        continue;
      }
    }
    if (c >= 0xdc80 && c <= 0xdcff) {
      parts.push(Buffer.from(s.slice(start, i), 'utf8'), Buffer.of(c - 0xdc00));
      start = i + 1;
    }
  }
  parts.push(Buffer.from(s.slice(start), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * `decodeBytes` for a stream read in chunks: a UTF-8 character split across two chunks
 * is decoded whole, as `StringDecoder` does, and every other byte is kept as above.
 */
export class ByteDecoder {
  private rest: Buffer = Buffer.alloc(0);

  write(chunk: Buffer): string {
    const buf = this.rest.length === 0 ? chunk : Buffer.concat([this.rest, chunk]);
    const cut = buf.length - unfinishedTail(buf);
    this.rest = Buffer.from(buf.subarray(cut)); // at most 3 bytes, copied off the chunk
    return decodeBytes(buf.subarray(0, cut));
  }

  /** What is left: the start of a character the stream never finished, as raw bytes. */
  end(): string {
    const text = decodeBytes(this.rest);
    this.rest = Buffer.alloc(0);
    return text;
  }
}

/** How many bytes at the end of `buf` start a character that the next chunk may finish. */
function unfinishedTail(buf: Uint8Array): number {
  for (let back = 1; back <= Math.min(3, buf.length); back++) {
    const b = buf[buf.length - back]!;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const len =
      b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    return len > back ? back : 0;
  }
  return 0;
}

/** What a person sees: escaped bytes (and any other lone surrogate) as U+FFFD. */
export function displayText(s: string): string {
  return s.toWellFormed();
}

/** Length of the valid UTF-8 sequence starting at `i` (a non-ASCII lead byte), or 0. */
function sequenceLength(buf: Uint8Array, i: number): number {
  const b = buf[i]!;
  let len: number;
  let min: number;
  if (b >= 0xc2 && b <= 0xdf) [len, min] = [2, 0x80];
  else if (b >= 0xe0 && b <= 0xef) [len, min] = [3, 0x800];
  else if (b >= 0xf0 && b <= 0xf4) [len, min] = [4, 0x10000];
  else return 0;
  if (i + len > buf.length) return 0;
  let cp = b & (0xff >> (len + 1));
  for (let k = 1; k < len; k++) {
    const c = buf[i + k]!;
    if ((c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}
