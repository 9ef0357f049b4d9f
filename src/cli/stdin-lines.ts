/**
 * Lines of a stream, read only as fast as they are consumed: the stream is pulled
 * one chunk at a time by the async iterator, so a paused consumer leaves the rest
 * in the pipe and the producer blocks, which is the backpressure `--max-queue` needs.
 * Empty lines are skipped (like xargs); a trailing `\r` is dropped.
 */
export async function* readLines(stream: AsyncIterable<Buffer | string>): AsyncGenerator<string> {
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n', start)) {
      const line = rest.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      if (line) yield line;
    }
    rest = rest.slice(start);
  }
  rest += decoder.decode();
  if (rest.replace(/\r$/, '')) yield rest.replace(/\r$/, '');
}
