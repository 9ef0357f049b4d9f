import { ByteDecoder } from '../model/bytes.js';

/** Longest line held before it is passed on in pieces (in UTF-16 code units). */
const MAX_LINE_LENGTH = 64 * 1024;

/**
 * Splits a byte stream into lines for `emit`, without the newline (and without a
 * `\r` before it). Multi-byte UTF-8 characters split across chunks are decoded
 * whole; bytes that are not UTF-8 are kept as escapes (`decodeBytes`), so a line
 * written back with `encodeBytes` is the job's own bytes. Memory is bounded: a line longer than `maxLength` is passed on in
 * pieces of `maxLength` as it arrives instead of being held. Call `end()` once
 * the stream is over to flush a last line that has no newline.
 */
export class LineSplitter {
  private readonly decoder = new ByteDecoder();
  private pending = '';

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLength: number = MAX_LINE_LENGTH,
  ) {}

  push(chunk: Buffer | string): void {
    const decoded = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (decoded === '') return;
    const text = this.pending === '' ? decoded : this.pending + decoded;
    this.pending = '';
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      this.emitPieces(text.slice(start, end), true);
      start = nl + 1;
    }
    this.pending = this.emitPieces(text.slice(start), false);
  }

  /** Flush what is left (a last line without newline, an incomplete character). */
  end(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    if (rest !== '') this.emitPieces(rest, true);
  }

  /**
   * Emit `text` in pieces of at most `maxLength`. With `whole`, everything is
   * emitted; otherwise the last piece shorter than `maxLength` is returned to be
   * held until its line ends.
   */
  private emitPieces(text: string, whole: boolean): string {
    let rest = text;
    while (rest.length > this.maxLength || (!whole && rest.length === this.maxLength)) {
      let cut = this.maxLength;
      const code = rest.charCodeAt(cut - 1);
      if (code >= 0xd800 && code <= 0xdbff) cut--; // keep a surrogate pair together
      this.emit(rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    if (whole) {
      this.emit(rest);
      return '';
    }
    return rest;
  }
}
