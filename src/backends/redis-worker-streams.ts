import fs from 'node:fs';
import { LineSplitter } from '../exec/line-splitter.js';
import type { OutputStream } from '../exec/types.js';

/** Bytes read per step: at most this much (and its lines) is held while sending. */
const CHUNK = 64 * 1024;

/**
 * Where a line goes (`OutputWriter.line` for one attempt), how to wait for it to leave,
 * and whether to send no more (the coordinator stopped the attempt: no one will show
 * its output, and the coordinator waits for its end).
 */
export interface LineSender {
  line(stream: OutputStream, line: string, newline: boolean): void;
  flush(): Promise<void>;
  stopped(): boolean;
}

/**
 * Sends an ended attempt's stdout and stderr files line by line, then removes them
 * (the attempt's log keeps both streams on the worker). Used when the coordinator
 * wants the streams apart but not live (`--output grouped`, `--results`): the job then
 * ran without jobrun's pipes, so its worker could start it through its spawner. Reads
 * in steps and waits for each step's lines to be sent, so a large output is never held
 * whole, and stops between steps once the attempt is stopped (`LineSender.stopped`).
 * Never throws: output is best effort, as the live lines are.
 */
export async function sendStreams(
  paths: { stdoutPath: string; stderrPath: string },
  to: LineSender,
): Promise<void> {
  await sendFile(paths.stdoutPath, 'stdout', to).catch(() => {});
  await sendFile(paths.stderrPath, 'stderr', to).catch(() => {});
  for (const file of [paths.stdoutPath, paths.stderrPath]) fs.rmSync(file, { force: true });
}

async function sendFile(file: string, stream: OutputStream, to: LineSender): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, 'r');
  } catch {
    return; // the job printed nothing there, or its executor wrote no file
  }
  try {
    // the same splitting as the live lines get, so both ways send the same lines
    const splitter = new LineSplitter((line, newline) => to.line(stream, line, newline));
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      if (to.stopped()) return;
      const { bytesRead } = await handle.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      splitter.push(buf.subarray(0, bytesRead));
      await to.flush();
    }
    splitter.end();
    await to.flush();
  } finally {
    await handle.close();
  }
}
