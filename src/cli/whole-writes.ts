import { writeSync } from 'node:fs';
import { Socket } from 'node:net';

/**
 * Node writes a stdout or stderr that is a file (or a device such as /dev/full) with
 * one write(2) per chunk and drops whatever that call did not take: on a nearly full
 * disk, or past `ulimit -f`, `--json` ended after 4096 bytes, with no error and exit 0.
 * This makes such a stream write each chunk whole or fail with the error that stopped
 * it (ENOSPC, EFBIG, EIO …), which `installProcessGuards` records as a write error.
 * Terminals and pipes are sockets to Node: libuv writes them whole and reports EPIPE.
 */
export function writeWhole(stream: NodeJS.WriteStream): void {
  if (stream instanceof Socket) return;
  const fd = (stream as { fd?: unknown }).fd;
  if (typeof fd !== 'number') return;
  (stream as unknown as { _write: WriteChunk })._write = (chunk, _encoding, done) => {
    try {
      writeAllSync(fd, chunk);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  };
}

type WriteChunk = (chunk: Buffer, encoding: string, done: (err?: Error) => void) => void;

/** write(2) until every byte is out; a call that takes nothing is an error, not a loop. */
function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.length;) {
    const n = writeSync(fd, bytes, at, bytes.length - at);
    if (n <= 0) throw new Error(`write(2) took none of ${bytes.length - at} bytes`);
    at += n;
  }
}
