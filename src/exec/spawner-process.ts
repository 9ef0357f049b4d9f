import { spawn, type ChildProcess } from 'node:child_process';
import type { Duplex, Readable, Writable } from 'node:stream';
import { encodeBytes } from '../model/bytes.js';
import { baseEnv } from './base-env.js';
import { pythonCommand } from './python-command.js';
import { signalName } from './signals.js';
import { SPAWNER_SOURCE } from './spawner-source.js';

/**
 * One job for a spawner: strings carry raw bytes the `src/model/bytes.ts` way, except
 * the paths of files jobrun opens too (log, stdin, streams): those go as `node:fs` names them.
 */
export interface SpawnOrder {
  file: string;
  /** The whole argv, argv[0] included. */
  argv: string[];
  cwd: string;
  /** Laid over the environment every job starts from (jobrun's, see `base-env.ts`). */
  env: Record<string, string>;
  logPath: string;
  /** The file the job's stdin is opened from (`/dev/null` for most). */
  stdinPath: string;
  killGraceMs: number;
  /**
   * The streams come back apart: the spawner reads the job's pipes, copies both to the
   * log, stdout to `stdoutPath` and stderr to `stderrPath` (each made at its first
   * byte), and keeps stdout's first `keepBytes` bytes; its `output` report follows the end.
   */
  streams?: { stdoutPath?: string; stderrPath?: string; keepBytes?: number };
}

/** What a spawner says about a job it was given. */
export type SpawnReport =
  /**
   * `start`: the leader's start time in ticks since boot, read before it could be reaped.
   * `ageMs`: how long before this report the job started (the spawner held it back to
   * share a write with the next ones); 0 when it is news.
   */
  | { kind: 'pid'; pid: number; start: number | undefined; ageMs: number }
  /** A signal asked for with `signal()` reached the job while it still ran. */
  | { kind: 'signalled'; pid: number }
  /**
   * `groupGone`: the job's process group had no process left when its leader was reaped.
   * `logSize`: the size of the log the job wrote itself (not piped), the log removed if 0.
   * `output`: a piped job's output, complete as it ended (no `output` report follows).
   * `ageMs`: how long before this report the leader was reaped (see `pid`).
   */
  | {
      kind: 'exit';
      code: number | null;
      signal: string | null;
      groupGone: boolean;
      ageMs: number;
      logSize?: number;
      output?: OutputReport;
    }
  | { kind: 'error'; where: 'cwd' | 'log' | 'exec'; code: string; message: string }
  /** A queued job was withdrawn or handed back: it never started. */
  | { kind: 'withdrawn' }
  | OutputReport;

/**
 * After the end of a job with `streams`: its output is all read. `logError`: the errno
 * name of a failed log write; `kept`: stdout's first `keepBytes` bytes, `cut` when there
 * was more. The spawner has removed the log when `bytes` is 0.
 */
interface OutputReport {
  kind: 'output';
  bytes: number;
  logError?: string;
  kept: Buffer;
  cut: boolean;
}

/** Who hears about one job given to a spawner. */
export interface SpawnListener {
  report(report: SpawnReport): void;
  /** The spawner went away before the job's end was reported; `why` is for an error. */
  death(why: string): void;
}

/** A job given to a spawner and not yet done with. */
interface SpawnerJob {
  listener: SpawnListener;
  /** Sent with `q`, and not yet started (`p`/`e`) nor handed back (`w`). */
  queued: boolean;
  started: boolean;
  /** Its streams come back apart: an `output` report follows its end. */
  piped: boolean;
  /** Its end was reported; with `piped`, its output is still being read. */
  exited: boolean;
}

/** Last bytes of a spawner's stderr kept to explain its death. */
const STDERR_KEEP = 2048;

/**
 * How many jobs may wait in a spawner behind the running one. With two or more waiting,
 * the spawner holds back the reports of ends and starts (50 ms at most) so that several
 * share one write: jobrun's main thread then wakes once for several jobs, which on small
 * jobs costs more than the work it does for each. Twelve lets some ten jobs of a few
 * milliseconds share a wake-up (four let three: jobrun's CPU per job fell by a third).
 */
export const QUEUE_DEPTH = 12;

/**
 * One spawner process (see `spawner-source.ts`) and its pipes. It runs one job at a
 * time, and may hold up to `QUEUE_DEPTH` more, queued to start one by one as the
 * running one ends. While idle its
 * handles are unref'd, so an idle spawner never keeps jobrun alive; when jobrun exits,
 * the spawner sees its pipe close and exits too.
 */
export class SpawnerProcess {
  /** Set once the spawner said it is ready: before that a death means "cannot run here". */
  ready = false;
  dead = false;
  /** Called each time its last job is done with (ended, failed to start or withdrawn). */
  onIdle: (() => void) | undefined;

  private readonly child: ChildProcess;
  private readonly stdin: Writable;
  /** Rung after `c` and `t`: while a job runs, the spawner reads input only then. */
  private readonly doorbell: Writable;
  private readonly stdout: Readable;
  /** Oldest first: ended jobs whose output is still read, the running job (or the one being started), then the queued ones. */
  private readonly jobs: SpawnerJob[] = [];
  private withdrawing = false;
  /** Orders written this tick go out in one write (see `queue`). */
  private corked = false;
  private pending = '';
  /** When (performance.now()) the last line the spawner said was, as dated (see `age`). */
  private lastSaidAt = 0;
  private stderrTail = '';
  private readonly orders = new OrderEncoder();

  constructor(python = pythonCommand()) {
    this.child = spawn(python, ['-I', '-S', '-c', SPAWNER_SOURCE], {
      // its own session: Ctrl-C and terminal hangups go to jobrun, which stops jobs itself
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    });
    this.stdin = this.child.stdin!;
    const doorbell = this.child.stdio[3] as Duplex;
    // read (nothing comes) so that its end is seen: the child's 'close' waits for it
    doorbell.resume();
    this.doorbell = doorbell;
    this.stdout = this.child.stdout!;
    this.stdout.setEncoding('latin1');
    this.stdout.on('data', (chunk: string) => this.onData(chunk));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP);
    });
    for (const pipe of [this.stdin, this.doorbell])
      pipe.on('error', () => {
        // EPIPE: the spawner died; 'exit' or 'error' tells the rest
      });
    this.child.once('error', (err) => this.die(`cannot start ${python}: ${err.message}`));
    this.child.once('close', (code, signal) =>
      this.die(
        `the job spawner exited (${signal ?? `code ${code}`})` +
          (this.stderrTail.trim() ? `: ${this.stderrTail.trim().split('\n').at(-1)}` : ''),
      ),
    );
    // jobs start from jobrun's environment, never from the interpreter's
    const env = Object.entries(baseEnv()).map(([k, v]) => b64(`${k}=${v}`));
    // no job yet: the spawner listens on stdin, no ring needed (see `send`)
    this.stdin.write(['b', ...env].join(' ') + '\n');
    this.setBusy(false);
  }

  /** Its pid (and process group: it leads its own); undefined when it could not be started. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether it holds a job (running, starting or queued). */
  get busy(): boolean {
    return this.jobs.length > 0;
  }

  /**
   * Start a job now; it must hold none. The reports go to `listener`. Holding none, the
   * spawner runs no job (it said the last one's end), so it listens on stdin: no ring.
   */
  start(order: SpawnOrder, listener: SpawnListener): void {
    this.add(listener, false, order.streams !== undefined);
    this.stdin.write(this.orders.line('s', order));
  }

  /**
   * May a job be queued behind `listener`'s, the last one it holds (running or queued)?
   * Not while a withdrawal is on its way: it would take the new job back too.
   */
  canQueueBehind(listener: SpawnListener): boolean {
    if (this.dead || this.withdrawing) return false;
    // as often as a chain is looked at: a count, no array
    let live = 0;
    let last: SpawnerJob | undefined;
    for (let i = 0; i < this.jobs.length; i++) {
      const job = this.jobs[i]!;
      if (!job.exited) {
        live++;
        last = job;
      }
    }
    return live <= QUEUE_DEPTH && last?.listener === listener;
  }

  /**
   * Queue a job to start once the jobs ahead of it have ended, each with exit 0 (see
   * `canQueueBehind`); after a failure it is handed back. `listener` hears `pid` or
   * `error` when it starts, or `withdrawn` when it is handed back.
   */
  queue(order: SpawnOrder, listener: SpawnListener): void {
    this.add(listener, true, order.streams !== undefined);
    // no ring: the spawner needs it only when the running job ends, and reads it then;
    // the orders of several jobs (one batch of ends heard) share a write
    if (!this.corked) {
      this.corked = true;
      this.stdin.cork();
      process.nextTick(() => {
        this.corked = false;
        this.stdin.uncork();
      });
    }
    this.stdin.write(this.orders.line('q', order));
  }

  /**
   * Withdraw every queued job: each hears `withdrawn`, or `pid` when it started first.
   * One withdrawal covers the jobs queued before it; none is queued until it is over.
   */
  withdraw(): void {
    if (this.withdrawing || !this.jobs.some((job) => job.queued)) return;
    this.withdrawing = true;
    this.send('c\n');
  }

  /**
   * Signal the group of the job `pid`, through the spawner: it first reaps the job if
   * it ended, so the order of its reports says whether the signal came first (a
   * `signalled` report) or the job had ended on its own (its exit report first).
   */
  signal(pid: number, signum: number): void {
    this.send(`t ${pid} ${signum}\n`);
  }

  /** A line the spawner must read now, even while a job runs: written, then the doorbell rung. */
  private send(line: string): void {
    this.stdin.write(line);
    this.doorbell.write('\n');
  }

  private add(listener: SpawnListener, queued: boolean, piped: boolean): void {
    if (this.jobs.length === 0) this.setBusy(true);
    this.jobs.push({ listener, queued, started: false, piped, exited: false });
  }

  private done(job: SpawnerJob): void {
    this.jobs.splice(this.jobs.indexOf(job), 1);
    this.withdrawOver();
    if (this.jobs.length > 0) return;
    this.setBusy(false);
    this.onIdle?.();
  }

  /** A busy spawner keeps jobrun alive until its job reports back; an idle one does not. */
  private setBusy(busy: boolean): void {
    for (const handle of [
      this.child,
      this.stdout,
      this.child.stderr,
      this.stdin,
      this.doorbell,
    ] as const) {
      const h = handle as unknown as { ref?: () => void; unref?: () => void };
      if (busy) h.ref?.();
      else h.unref?.();
    }
  }

  private onData(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) !== -1) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      this.onLine(line);
    }
  }

  /**
   * How long ago a line held `heldMs` was said. The spawner says its lines in order, so
   * none is dated before the one it said before: that one may have been written at once
   * but read late (a loaded jobrun reads several writes in one go), and then a job would
   * end before it started, or the next one start before it ended.
   */
  private age(heldMs: number): number {
    const now = performance.now();
    this.lastSaidAt = Math.max(now - heldMs, this.lastSaidAt);
    return now - this.lastSaidAt;
  }

  private onLine(line: string): void {
    const fields = line.split(' ');
    // '@AGE ': a line held back AGE µs to share a write (see `QUEUE_DEPTH`)
    const heldMs = fields[0]?.startsWith('@') ? Number(fields.shift()!.slice(1)) / 1000 || 0 : 0;
    const ageMs = this.age(heldMs);
    const kind = fields[0];
    if (kind === 'r') {
      this.ready = true;
      return;
    }
    const job = this.jobFor(kind);
    if (job === undefined) return;
    const report = parseReport(fields, ageMs);
    if (report === undefined) return;
    if (report.kind === 'pid') {
      job.started = true;
      job.queued = false;
      this.withdrawOver();
    } else if (report.kind === 'exit' && job.piped && report.output === undefined) {
      job.exited = true; // done with once its output is read
    } else if (report.kind !== 'signalled') {
      this.done(job);
    }
    job.listener.report(report);
  }

  /** A withdrawal is over once no job it covers is left queued. */
  private withdrawOver(): void {
    if (this.withdrawing && !this.jobs.some((job) => job.queued)) this.withdrawing = false;
  }

  /**
   * `x`/`k`/`T` are about the running job, `w` about the oldest queued one, `o` about
   * the oldest ended one, `p`/`e` about the oldest one not started.
   */
  private jobFor(kind: string | undefined): SpawnerJob | undefined {
    if (kind === 'x' || kind === 'k' || kind === 'T')
      return this.jobs.find((j) => j.started && !j.exited);
    if (kind === 'w') return this.jobs.find((j) => j.queued);
    if (kind === 'o') return this.jobs.find((j) => j.exited);
    return this.jobs.find((j) => !j.started);
  }

  private die(why: string): void {
    if (this.dead) return;
    this.dead = true;
    for (const job of this.jobs.splice(0)) job.listener.death(why);
  }
}

/**
 * Writes orders, each field encoded again only when it changed since the last order
 * (see `field`): most repeat from job to job (the shell, the folder, `/dev/null`, the
 * run's id, the slot), so a job costs the encoding of what is its own (its log, name
 * and command). Fields are kept by place (argv by index, env by name), so an order
 * makes no string for a field that did not change.
 */
class OrderEncoder {
  private readonly fixed = new Map<string, Encoded>();
  private readonly argv: Array<Encoded | undefined> = [];
  private readonly env = new Map<string, Encoded>();

  line(kind: 's' | 'q', order: SpawnOrder): string {
    const { streams, argv, env } = order;
    const fields = [
      kind,
      String(order.killGraceMs),
      this.encoded('file', order.file),
      this.encoded('cwd', order.cwd),
      this.encoded('log', order.logPath, b64File),
      this.encoded('stdin', order.stdinPath, b64File),
      streams?.stdoutPath === undefined ? '-' : this.encoded('stdout', streams.stdoutPath, b64File),
      streams?.stderrPath === undefined ? '-' : this.encoded('stderr', streams.stderrPath, b64File),
      streams?.keepBytes === undefined ? '-' : String(streams.keepBytes),
      String(argv.length),
    ];
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      let last = this.argv[i];
      if (last?.text !== arg) this.argv[i] = last = { text: arg, sent: field(arg, b64) };
      fields.push(last.sent);
    }
    for (const name in env) {
      const value = env[name]!;
      let last = this.env.get(name);
      if (last?.text !== value)
        this.env.set(name, (last = { text: value, sent: field(`${name}=${value}`, b64) }));
      fields.push(last.sent);
    }
    return fields.join(' ') + '\n';
  }

  private encoded(name: string, text: string, encode = b64): string {
    const last = this.fixed.get(name);
    if (last?.text === text) return last.sent;
    const encoded = { text, sent: field(text, encode) };
    this.fixed.set(name, encoded);
    return encoded.sent;
  }
}

/** A field's last text (for env, its value) and what was sent for it (see `field`). */
interface Encoded {
  text: string;
  sent: string;
}

/** Printable ASCII, no space: the bytes of such a text are its characters, whatever the encoding. */
const PLAIN = /^[!-~]*$/;

/**
 * A field of an order: a text of printable ASCII without a space (most paths, the
 * shell, most variables) goes as it is after a `:`, which is no base64 character, so
 * neither side encodes it; anything else goes in base64 (`encode`).
 */
function field(text: string, encode: (text: string) => string): string {
  return PLAIN.test(text) ? `:${text}` : encode(text);
}

function parseReport(fields: string[], ageMs: number): SpawnReport | undefined {
  // by index: destructuring would walk an iterator, for two reports a job
  const kind = fields[0];
  const a = fields[1] ?? '';
  const b = fields[2] ?? '';
  const c = fields[3] ?? '';
  if (kind === 'o') return parseOutput(fields, 1);
  if (kind === 'p')
    return { kind: 'pid', pid: Number(a), start: b === '-' ? undefined : Number(b), ageMs };
  if (kind === 'T') return { kind: 'signalled', pid: Number(a) };
  if (kind === 'x' || kind === 'k') {
    const code = kind === 'x' ? Number(a) : null;
    const signal = kind === 'k' ? signalName(Number(a)) : null;
    const exit = { kind: 'exit', code, signal, groupGone: b === '0', ageMs } as const;
    if (c === '-') return { ...exit, output: parseOutput(fields, 4) };
    return c === '' ? exit : { ...exit, logSize: Number(c) };
  }
  if (kind === 'w') return { kind: 'withdrawn' };
  if (kind === 'e')
    return {
      kind: 'error',
      where: a as 'cwd' | 'log' | 'exec',
      code: b,
      message: Buffer.from(c, 'base64').toString('utf8'),
    };
  return undefined;
}

/** Nothing kept of a job's stdout: one empty buffer for all (nobody writes into a kept one). */
const NOTHING_KEPT = Buffer.alloc(0);

/** `BYTES LOGERR CUT KEPT` from `fields[at]` on (an `o` line, or the tail of an end). */
function parseOutput(fields: string[], at: number): OutputReport {
  const bytes = fields[at] ?? '0';
  const logError = fields[at + 1] ?? '-';
  const kept = fields[at + 3] ?? '-';
  const report: OutputReport = {
    kind: 'output',
    bytes: Number(bytes),
    cut: fields[at + 2] === '1',
    kept: kept === '-' ? NOTHING_KEPT : Buffer.from(kept, 'base64'),
  };
  if (logError !== '-') report.logError = logError;
  return report;
}

/**
 * A file jobrun itself writes or reads too (the log, the stream files, the stdin file):
 * named as `node:fs` names a string path, where a byte kept as a lone surrogate (an
 * argument read raw, see `decodeBytes`) becomes U+FFFD, so both mean the same file.
 */
function b64File(path: string): string {
  return Buffer.from(path, 'utf8').toString('base64');
}

function b64(s: string): string {
  return encodeBytes(s).toString('base64');
}
