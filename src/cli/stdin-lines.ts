/**
 * Lines of a stream, read only as fast as they are consumed: the stream is pulled
 * one chunk at a time by the async iterator, so a paused consumer leaves the rest
 * in the pipe and the producer blocks, which is the backpressure `--max-queue` needs.
 * Empty lines are skipped (like xargs); a trailing `\r` is dropped.
 *
 * Yields the lines of each chunk together: a generator layer per line would cost a
 * promise and a microtask per job on top of the consumer's own.
 */
export async function* readLineBatches(
  stream: AsyncIterable<Buffer | string>,
): AsyncGenerator<string[]> {
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    const lines: string[] = [];
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
      const line = rest.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      if (line) lines.push(line);
    }
    rest = rest.slice(start);
    if (lines.length > 0) yield lines;
  }
  rest += decoder.decode();
  if (rest.replace(/\r$/, '')) yield [rest.replace(/\r$/, '')];
}
