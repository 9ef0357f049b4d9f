import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { encodeBytes } from '../model/bytes.js';
import { SPAWNER_SOURCE } from './spawner-source.js';

/** One job for a spawner: strings carry raw bytes the `src/model/bytes.ts` way. */
export interface SpawnOrder {
  file: string;
  /** The whole argv, argv[0] included. */
  argv: string[];
  cwd: string;
  /** Laid over the spawner's environment (a snapshot of jobrun's). */
  env: Record<string, string>;
  logPath: string;
  /** The file the job's stdin is opened from (`/dev/null` for most). */
  stdinPath: string;
  killGraceMs: number;
}

/** What a spawner says about the job it was given. */
export type SpawnReport =
  | { kind: 'pid'; pid: number }
  | { kind: 'exit'; code: number | null; signal: string | null }
  | { kind: 'error'; where: 'cwd' | 'log' | 'exec'; code: string; message: string };

let found: string | undefined;

/**
 * The interpreter that runs the spawner: `JOBRUN_PYTHON`, else the first `python3` on
 * PATH that is not a script. Version-manager shims (pyenv's is a bash script that runs
 * `pyenv exec`) take half a second of CPU to start, more than a thousand small jobs;
 * any Python ≥ 3.8 will do for the spawner, so a real interpreter further down PATH
 * is better. When every `python3` is a script, the first one is used.
 */
function pythonCommand(): string {
  const forced = process.env.JOBRUN_PYTHON;
  if (forced) return forced;
  found ??= findPython(process.env.PATH ?? '');
  return found;
}

function findPython(searchPath: string): string {
  let first: string | undefined;
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'python3');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    first ??= candidate;
    if (!isScript(candidate)) return candidate;
  }
  return first ?? 'python3';
}

function isScript(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

const SIGNAL_NAMES = new Map<number, string>(
  Object.entries(osConstants.signals).map(([name, num]) => [num, name]),
);
/** Last bytes of a spawner's stderr kept to explain its death. */
const STDERR_KEEP = 2048;

/**
 * One spawner process (see `spawner-source.ts`) and its pipes. It runs one job at a
 * time. While idle its handles are unref'd, so an idle spawner never keeps jobrun
 * alive; when jobrun exits, the spawner sees its pipe close and exits too.
 */
export class SpawnerProcess {
  /** Set once the spawner said it is ready: before that a death means "cannot run here". */
  ready = false;
  dead = false;
  /** Receives the reports about the current job. */
  onReport: ((report: SpawnReport) => void) | undefined;
  /** Called once when the process goes away; `why` is for an attempt's error. */
  onDeath: ((why: string) => void) | undefined;

  private readonly child: ChildProcess;
  private readonly stdin: Writable;
  private readonly stdout: Readable;
  private pending = '';
  private stderrTail = '';

  constructor(python = pythonCommand()) {
    this.child = spawn(python, ['-I', '-S', '-c', SPAWNER_SOURCE], {
      // its own session: Ctrl-C and terminal hangups go to jobrun, which stops jobs itself
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.stdin = this.child.stdin!;
    this.stdout = this.child.stdout!;
    this.stdout.setEncoding('latin1');
    this.stdout.on('data', (chunk: string) => this.onData(chunk));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_KEEP);
    });
    this.stdin.on('error', () => {
      // EPIPE: the spawner died; 'exit' or 'error' tells the rest
    });
    this.child.once('error', (err) => this.die(`cannot start ${python}: ${err.message}`));
    this.child.once('close', (code, signal) =>
      this.die(
        `the job spawner exited (${signal ?? `code ${code}`})` +
          (this.stderrTail.trim() ? `: ${this.stderrTail.trim().split('\n').at(-1)}` : ''),
      ),
    );
    this.setBusy(false);
  }

  /** Ask for a job to be started; the reports arrive through `onReport`. */
  send(order: SpawnOrder): void {
    const b64 = (s: string): string => encodeBytes(s).toString('base64');
    const fields = [
      's',
      String(order.killGraceMs),
      b64(order.file),
      b64(order.cwd),
      b64(order.logPath),
      b64(order.stdinPath),
      String(order.argv.length),
      ...order.argv.map(b64),
      ...Object.entries(order.env).map(([k, v]) => b64(`${k}=${v}`)),
    ];
    this.stdin.write(fields.join(' ') + '\n');
  }

  /** A busy spawner keeps jobrun alive until its job reports back; an idle one does not. */
  setBusy(busy: boolean): void {
    for (const handle of [this.child, this.stdout, this.child.stderr, this.stdin] as const) {
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

  private onLine(line: string): void {
    const [kind, a = '', b = '', c = ''] = line.split(' ');
    if (kind === 'r') this.ready = true;
    else if (kind === 'p') this.onReport?.({ kind: 'pid', pid: Number(a) });
    else if (kind === 'x') this.onReport?.({ kind: 'exit', code: Number(a), signal: null });
    else if (kind === 'k')
      this.onReport?.({
        kind: 'exit',
        code: null,
        signal: SIGNAL_NAMES.get(Number(a)) ?? `signal ${a}`,
      });
    else if (kind === 'e')
      this.onReport?.({
        kind: 'error',
        where: a as 'cwd' | 'log' | 'exec',
        code: b,
        message: Buffer.from(c, 'base64').toString('utf8'),
      });
  }

  private die(why: string): void {
    if (this.dead) return;
    this.dead = true;
    this.onDeath?.(why);
  }
}
