import { ByteDecoder } from '../model/bytes.js';

/** Longest line held before it is passed on in pieces (in UTF-16 code units). */
const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Gets each line: its text without the newline (a `\r` before it is the job's and
 * stays), and whether a newline ended it (`false` for a piece of a long line and for
 * a last line the stream ended without one). A line written back with
 * `encodeBytes(text)`, plus a newline where `newline`, is the job's own bytes.
 */
export type LineHandler = (line: string, newline: boolean) => void;

/**
 * Splits a byte stream into lines for `emit` (see `LineHandler`). Multi-byte UTF-8
 * characters split across chunks are decoded whole; bytes that are not UTF-8 are kept
 * as escapes (`decodeBytes`). Memory is bounded: a line longer than `maxLength` is
 * passed on in pieces of `maxLength` as it arrives instead of being held. Call `end()`
 * once the stream is over to flush a last line that has no newline.
 */
export class LineSplitter {
  private readonly decoder = new ByteDecoder();
  private pending = '';

  constructor(
    private readonly emit: LineHandler,
    private readonly maxLength: number = MAX_LINE_LENGTH,
  ) {}

  push(chunk: Buffer | string): void {
    const decoded = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (decoded === '') return;
    const text = this.pending === '' ? decoded : this.pending + decoded;
    this.pending = '';
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.emitPieces(text.slice(start, nl), true, true);
      start = nl + 1;
    }
    this.pending = this.emitPieces(text.slice(start), false, false);
  }

  /** Flush what is left (a last line without newline, an incomplete character). */
  end(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest !== '') this.emitPieces(rest, true, false);
  }

  /**
   * Emit `text` in pieces of at most `maxLength`. With `whole`, everything is
   * emitted, the last piece with `newline`; otherwise the last piece (`maxLength` at
   * most) is returned to be held until its line ends or goes on: a line of exactly
   * `maxLength` whose newline comes in the next chunk is one line, not two.
   */
  private emitPieces(text: string, whole: boolean, newline: boolean): string {
    let rest = text;
    while (rest.length > this.maxLength) {
      let cut = this.maxLength;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut--; // keep a surrogate pair together
      this.emit(rest.slice(0, cut), false);
      rest = rest.slice(cut);
    }
    if (whole) {
      this.emit(rest, newline);
      return '';
    }
    return rest;
  }
}
