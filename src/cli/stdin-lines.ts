/**
 * The longest input line taken, in bytes: Linux passes no single argument longer
 * than 128 KiB to a program (MAX_ARG_STRLEN), and a job's command line is one
 * argument of its shell, so a longer line could never run. Refusing it early also
 * keeps memory bounded whatever arrives on stdin (a 300 MB line without a newline).
 */
export const MAX_LINE_BYTES = 128 * 1024;

/**
 * Lines of a stream, read only as fast as they are consumed: the stream is pulled
 * one chunk at a time by the async iterator, so a paused consumer leaves the rest
 * in the pipe and the producer blocks, which is the backpressure `--max-queue` needs.
 * Empty lines are skipped (like xargs); a trailing `\r` is dropped. A line longer
 * than `maxBytes` throws (the run stops with the message, exit 2). Each chunk is
 * scanned once, so a long line costs linear time, not quadratic.
 *
 * Yields the lines of each chunk together: a generator layer per line would cost a
 * promise and a microtask per job on top of the consumer's own.
 */
export async function* readLineBatches(
  stream: AsyncIterable<Buffer | string>,
  maxBytes = MAX_LINE_BYTES,
): AsyncGenerator<string[]> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let lineNo = 0;
  const decoder = new TextDecoder();
  const take = (tail: Buffer): string | undefined => {
    lineNo++;
    const line = decoder.decode(parts.length ? Buffer.concat([...parts, tail]) : tail);
    parts = [];
    partBytes = 0;
    const text = line.replace(/\r$/, '');
    return text ? text : undefined;
  };
  const tooLong = () =>
    new Error(
      `stdin line ${lineNo + 1} is longer than ${maxBytes / 1024} KiB, the most one job's command line can hold`,
    );
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const lines: string[] = [];
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      if (partBytes + nl - start > maxBytes) throw tooLong();
      const line = take(buf.subarray(start, nl));
      start = nl + 1;
      if (line !== undefined) lines.push(line);
    }
    if (start < buf.length) {
      partBytes += buf.length - start;
      if (partBytes > maxBytes) throw tooLong();
      parts.push(buf.subarray(start));
    }
    if (lines.length > 0) yield lines;
  }
  if (partBytes > 0) {
    const line = take(Buffer.alloc(0));
    if (line !== undefined) yield [line];
  }
}
