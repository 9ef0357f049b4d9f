import type { Redis } from 'ioredis';
import type { OutputStream } from '../exec/types.js';
import { decodeBytes, encodeBytes } from '../model/bytes.js';
import { outputKey } from './redis-names.js';

/** Lines kept per run's output stream: older ones are trimmed, so memory stays bounded. */
const OUTPUT_MAX_LEN = 10_000;
/** How long a run's output stream outlives its last line (seconds). */
const OUTPUT_TTL_S = 24 * 3600;
/** Lines a worker buffers before it sends them without waiting for the next tick. */
const BATCH = 200;

interface Pending {
  runKey: string;
  fields: Array<string | Buffer>;
}

/**
 * The worker's side of `--output stream|grouped` for remote jobs: each output line
 * goes to a capped Redis stream per run (`XADD … MAXLEN ~`), batched per tick. A
 * worker flushes before it reports an attempt's end, so the coordinator, which
 * drains the stream before it closes the attempt, sees every line first.
 */
export class OutputWriter {
  private pending: Pending[] = [];
  private sending: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(private readonly conn: Redis) {}

  line(
    runKey: string,
    jobId: string,
    worker: string,
    attempt: number,
    stream: OutputStream,
    line: string,
  ): void {
    // the line's raw bytes, not its UTF-8 re-encoding: non-UTF-8 output stays as it was
    const fields = [
      'j',
      jobId,
      'w',
      worker,
      'a',
      String(attempt),
      's',
      stream === 'stderr' ? 'e' : 'o',
      'l',
      encodeBytes(line),
    ];
    this.pending.push({ runKey, fields });
    if (this.pending.length >= BATCH) void this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Sends what is buffered; never rejects (output is best effort, the log file is whole). */
  flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length > 0) {
      this.sending = this.sending.then(async () => {
        const multi = this.conn.pipeline();
        const keys = new Set<string>();
        for (const { runKey, fields } of batch) {
          keys.add(outputKey(runKey));
          multi.xadd(outputKey(runKey), 'MAXLEN', '~', OUTPUT_MAX_LEN, '*', ...fields);
        }
        for (const key of keys) multi.expire(key, OUTPUT_TTL_S);
        await multi.exec().catch(() => {});
      });
    }
    return this.sending;
  }
}

export interface OutputLine {
  jobId: string;
  worker?: string;
  /** The attempt that printed it (absent from workers that do not say). */
  attempt?: number;
  stream: OutputStream;
  line: string;
}

/**
 * The coordinator's side: reads a run's output stream with a blocking `XREAD` on its
 * own connection and hands each line on. `drain` reads what is there now without
 * blocking, so a job's lines are delivered before its end.
 */
export class OutputReader {
  private last = '0-0';
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly blocking: Redis,
    private readonly conn: Redis,
    private readonly key: string,
    private readonly onLine: (line: OutputLine) => void,
  ) {
    this.loop = this.read();
  }

  async drain(): Promise<void> {
    const entries = await this.conn.xrangeBuffer(this.key, `(${this.last}`, '+').catch(() => []);
    this.deliver(entries);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.blocking.disconnect();
    await this.loop;
  }

  private async read(): Promise<void> {
    while (!this.stopped) {
      try {
        const res = await this.blocking.xreadBuffer(
          'COUNT',
          500,
          'BLOCK',
          1000,
          'STREAMS',
          this.key,
          this.last,
        );
        for (const [, entries] of res ?? []) this.deliver(entries);
      } catch {
        if (this.stopped) return;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private deliver(entries: Array<[Buffer, Buffer[]]>): void {
    for (const [rawId, fields] of entries) {
      const id = rawId.toString();
      if (!after(id, this.last)) continue;
      this.last = id;
      const f = new Map<string, Buffer>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!.toString(), fields[i + 1]!);
      const jobId = f.get('j')?.toString();
      const line = f.get('l');
      if (jobId === undefined || line === undefined) continue;
      const stream = f.get('s')?.toString() === 'e' ? 'stderr' : 'stdout';
      const worker = f.get('w')?.toString();
      const attempt = Number(f.get('a')?.toString()) || undefined;
      this.onLine({ jobId, worker, attempt, stream, line: decodeBytes(line) });
    }
  }
}

/** Whether stream id `a` comes after `b` (`ms-seq`, compared as numbers). */
function after(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am !== bm ? am > bm : as > bs;
}
