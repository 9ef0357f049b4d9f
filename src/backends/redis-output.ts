import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Backpressure, OutputStream } from '../exec/types.js';
import { decodeBytes, encodeBytes } from '../model/bytes.js';
import { outputKey, outputReaderKey } from './redis-names.js';

/**
 * Lines kept per run's output stream: older ones are trimmed, so memory stays bounded.
 * Ten times `BACKLOG_HIGH`: a worker learns of the backlog only as its last send is
 * answered, and each of its jobs may have a pipe read (64 KiB: some 1,500 short lines)
 * in flight, so on a loaded machine two workers' jobs overshoot the backlog by several
 * thousand lines before they wait; the stream must keep them until they are read.
 */
const OUTPUT_MAX_LEN = 20_000;
/** How long a run's output stream outlives its last line (seconds). */
const OUTPUT_TTL_S = 24 * 3600;
/** Lines a worker buffers before it sends them without waiting for the next tick. */
const BATCH = 200;
/**
 * Unread lines of a run past which its workers send no more until its coordinator read
 * them: far below `OUTPUT_MAX_LEN`, so what the stream trims was read already.
 */
const BACKLOG_HIGH = 2000;
/** A worker waiting for room looks again this often at most, then at least once a second. */
const FIRST_LOOK_MS = 50;
const LAST_LOOK_MS = 1000;
/** How long the coordinator's reader mark outlives its last renewal (it renews each second). */
const READER_MARK_MS = 5000;
const READER_RENEW_MS = 1000;

interface Pending {
  runKey: string;
  fields: Array<string | Buffer>;
}

/**
 * The worker's side of `--output stream|grouped` for remote jobs: each output line
 * goes to a capped Redis stream per run (`XADD … MAXLEN ~`), batched per tick. A
 * worker flushes before it reports an attempt's end, so the coordinator, which
 * drains the stream before it closes the attempt, sees every line first. The
 * coordinator removes what it read, so the stream's length is what it has yet to
 * read; past `BACKLOG_HIGH`, the worker sends no more until it read them (`room`,
 * `pressure`): a job's pipes wait, as for a slow reader of a local run. Only while the
 * coordinator says it reads (`outputReaderKey`, renewed each second): one killed with -9
 * is waited for a few seconds at most, and one that does not say so is not waited for.
 */
export class OutputWriter {
  private pending: Pending[] = [];
  private sending: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** Unread lines of each run, as the last send or look saw them (while there are some). */
  private readonly backlog = new Map<string, number>();
  /** Lines of each run given to `line` whose send did not return yet (a job prints fast). */
  private readonly unsent = new Map<string, number>();
  /** Runs whose coordinator says it reads their lines, as the last send or look saw. */
  private readonly read = new Set<string>();

  constructor(private readonly conn: Redis) {}

  line(
    runKey: string,
    jobId: string,
    worker: string,
    attempt: number,
    stream: OutputStream,
    line: string,
    newline: boolean,
  ): void {
    // the line's raw bytes, not its UTF-8 re-encoding: non-UTF-8 output stays as it was
    const fields: Array<string | Buffer> = [
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
    // said only when it is so (a piece of a long line, a last line without newline)
    if (!newline) fields.push('n', '0');
    this.pending.push({ runKey, fields });
    this.unsent.set(runKey, (this.unsent.get(runKey) ?? 0) + 1);
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
        const runs = new Map<string, number>();
        for (const { runKey, fields } of batch) {
          runs.set(runKey, (runs.get(runKey) ?? 0) + 1);
          multi.xadd(outputKey(runKey), 'MAXLEN', '~', OUTPUT_MAX_LEN, '*', ...fields);
        }
        for (const runKey of runs.keys()) multi.expire(outputKey(runKey), OUTPUT_TTL_S);
        for (const runKey of runs.keys()) multi.xlen(outputKey(runKey));
        for (const runKey of runs.keys()) multi.exists(outputReaderKey(runKey));
        const replies = await multi.exec().catch(() => null);
        const looks = replies?.slice(-2 * runs.size) ?? [];
        [...runs].forEach(([runKey, sent], i) => {
          const left = (this.unsent.get(runKey) ?? 0) - sent;
          if (left > 0) this.unsent.set(runKey, left);
          else this.unsent.delete(runKey);
          this.saw(runKey, looks[i]?.[1], looks[runs.size + i]?.[1]);
        });
      });
    }
    return this.sending;
  }

  /** Whether run `runKey`'s coordinator reads its lines and has too many yet to read. */
  behind(runKey: string): boolean {
    const lines = (this.backlog.get(runKey) ?? 0) + (this.unsent.get(runKey) ?? 0);
    return lines > BACKLOG_HIGH && this.read.has(runKey);
  }

  /**
   * Resolves once run `runKey`'s coordinator caught up with its lines (at once if it
   * has), or no longer says it reads them (killed: within `READER_MARK_MS`).
   */
  async room(runKey: string): Promise<void> {
    for (let wait = FIRST_LOOK_MS; this.behind(runKey); wait = Math.min(wait * 2, LAST_LOOK_MS)) {
      await sleep(wait);
      const looks = await this.conn
        .multi()
        .xlen(outputKey(runKey))
        .exists(outputReaderKey(runKey))
        .exec()
        .catch(() => null);
      // Redis unreachable: nothing to wait for (the lines are best effort, the log is whole)
      if (looks === null) return;
      this.saw(runKey, looks[0]?.[1], looks[1]?.[1]);
    }
  }

  /** The pipes of a job of run `runKey` wait while its coordinator is behind (`room`). */
  pressure(runKey: string): Backpressure {
    const behind = () => this.behind(runKey);
    return {
      get blocked() {
        return behind();
      },
      whenClear: (clear) => void this.room(runKey).then(clear),
    };
  }

  private saw(runKey: string, length: unknown, reading: unknown): void {
    if (reading === 1) this.read.add(runKey);
    else if (reading === 0) this.read.delete(runKey);
    if (typeof length !== 'number') return;
    // the last line read stays: one line is none left
    if (length > 1) this.backlog.set(runKey, length);
    else this.backlog.delete(runKey); // so a worker serving many runs keeps little of old ones
  }
}

export interface OutputLine {
  jobId: string;
  worker?: string;
  /** The attempt that printed it (absent from workers that do not say). */
  attempt?: number;
  stream: OutputStream;
  line: string;
  /** A newline ended the line (false for a piece of a long line, a last line without one). */
  newline: boolean;
}

/**
 * The coordinator's side: reads a run's output stream with a blocking `XREAD` on its
 * own connection, hands each line on, and removes what it read (the workers wait while
 * too much is left: see `OutputWriter`). `drain` reads what is there now without
 * blocking, so a job's lines are delivered before its end.
 */
export class OutputReader {
  private last = '0-0';
  private stopped = false;
  private readonly loop: Promise<void>;
  private readonly key: string;
  /** Ends the wait for jobrun's own reader (`backpressure`), if the loop waits. */
  private wake: (() => void) | undefined;
  /** Renews the mark that says this coordinator reads (see `OutputWriter`). */
  private readonly marker: ReturnType<typeof setInterval>;

  constructor(
    private readonly blocking: Redis,
    private readonly conn: Redis,
    private readonly runKey: string,
    private readonly onLine: (line: OutputLine) => void,
    /** jobrun's output behind its reader: read no more meanwhile, and the workers wait. */
    private readonly backpressure?: Backpressure,
  ) {
    this.key = outputKey(runKey);
    this.loop = this.read();
    this.mark();
    this.marker = setInterval(() => this.mark(), READER_RENEW_MS);
    this.marker.unref();
  }

  private mark(): void {
    this.conn.set(outputReaderKey(this.runKey), '1', 'PX', READER_MARK_MS).catch(() => {});
  }

  async drain(): Promise<void> {
    const entries = await this.conn.xrangeBuffer(this.key, `(${this.last}`, '+').catch(() => []);
    this.deliver(entries);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.marker);
    this.conn.del(outputReaderKey(this.runKey)).catch(() => {});
    this.wake?.();
    this.blocking.disconnect();
    await this.loop;
  }

  private async read(): Promise<void> {
    while (!this.stopped) {
      if (this.backpressure?.blocked) {
        await this.caughtUp(this.backpressure);
        continue;
      }
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

  /** Resolves once jobrun's output caught up with its reader, or the reader stops. */
  private caughtUp(backpressure: Backpressure): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      backpressure.whenClear(resolve);
    }).finally(() => (this.wake = undefined));
  }

  private deliver(entries: Array<[Buffer, Buffer[]]>): void {
    const before = this.last;
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
      const newline = f.get('n')?.toString() !== '0';
      this.onLine({ jobId, worker, attempt, stream, line: decodeBytes(line), newline });
    }
    // read: only what is left counts against the workers (the last line read stays)
    if (this.last !== before) this.conn.xtrim(this.key, 'MINID', this.last).catch(() => {});
  }
}

/**
 * Whether stream id `a` comes after `b` (`ms-seq`, compared as numbers). Asked for every
 * line read: compared as digits (a longer number is larger), without splitting them.
 */
function after(a: string, b: string): boolean {
  const ad = a.indexOf('-');
  const bd = b.indexOf('-');
  if (ad !== bd) return ad > bd; // Redis writes no leading zeros: more digits, a later time
  const am = a.slice(0, ad);
  const bm = b.slice(0, bd);
  if (am !== bm) return am > bm;
  const as = a.length - ad;
  const bs = b.length - bd;
  return as !== bs ? as > bs : a > b;
}
