import { encodeBytes } from '../model/bytes.js';
import { cleanOutput } from './text.js';

/** A line longer than this is passed on in pieces rather than held whole in memory. */
const MAX_HELD_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/**
 * How a job's output line is shown, in every output mode: its prefix (`[name] ` in
 * stream mode, `name<TAB>` with `--tag`, nothing otherwise), then the line, cleaned of
 * escapes when it goes to a terminal (`cleanOutput`). Stream mode decorates the lines
 * the executor hands over; grouped mode copies log files through `copy`, which splits
 * them into the same lines. Piped output without a prefix is copied byte for byte.
 */
export class LineDecorator {
  private readonly prefixBytes: Buffer;

  constructor(
    readonly prefix: string,
    readonly terminal: boolean,
  ) {
    this.prefixBytes = encodeBytes(prefix); // a name's bytes that are not UTF-8, as they were
  }

  /** Nothing to add or clean: the bytes pass as they are. */
  get exact(): boolean {
    return this.prefix === '' && !this.terminal;
  }

  /** One whole line (without its newline), as shown. */
  line(text: string): string {
    return this.prefix + (this.terminal ? shown(text) : text);
  }

  /** The same for a line of bytes: a terminal gets text, a pipe the line's own bytes. */
  private bytes(line: Buffer, first: boolean): Buffer {
    if (this.terminal) {
      const text = shown(line.toString('utf8'));
      return Buffer.from(first ? this.prefix + text : text);
    }
    return first ? Buffer.concat([this.prefixBytes, line]) : line;
  }

  /**
   * A file's chunks as shown: each line decorated; the last line keeps whatever ending
   * it had (none, if the file did not end with a newline).
   */
  async *copy(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    if (this.exact) {
      yield* chunks;
      return;
    }
    let held: Buffer[] = [];
    let heldBytes = 0;
    let atStart = true;
    for await (const chunk of chunks) {
      let from = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, from)) {
        held.push(chunk.subarray(from, nl));
        yield Buffer.concat([this.bytes(Buffer.concat(held), atStart), Buffer.of(NEWLINE)]);
        held = [];
        heldBytes = 0;
        atStart = true;
        from = nl + 1;
      }
      if (from < chunk.length) {
        held.push(chunk.subarray(from));
        heldBytes += chunk.length - from;
      }
      if (heldBytes > MAX_HELD_BYTES) {
        yield this.bytes(Buffer.concat(held), atStart);
        held = [];
        heldBytes = 0;
        atStart = false;
      }
    }
    if (heldBytes > 0) yield this.bytes(Buffer.concat(held), atStart);
  }
}

/**
 * A line as a terminal shows it (`cleanOutput`); a `\r` that ends it (a CRLF line end)
 * ends it as the newline does, rather than showing as `?`.
 */
function shown(text: string): string {
  return cleanOutput(text.endsWith('\r') ? text.slice(0, -1) : text);
}
