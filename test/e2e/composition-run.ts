import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Ending } from './composition-plan.js';
import { BIN } from './helpers.js';

/** One attempt as its markers tell it: when it started, in which group and slot, how it ended. */
export interface Marker {
  name: string;
  attempt: number;
  start: number;
  group: number;
  /** `JOBRUN_SLOT`. */
  slot: number;
  end?: { at: number; code: number };
  /** The fan-in job's standard input. */
  stdin?: string;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** jobrun's pid: it leads its own process group (its spawners are in it). */
  pid: number;
  /** The marker files (of every run) that existed as the test saw jobrun exit. */
  filesAtExit: string[];
  /** When the test sent its first signal (ms since the epoch), if it sent one. */
  signalledAt?: number;
  /** The drain or cancel of `job` the test sent the run, its answer, and when that came. */
  steered?: { reply: string; job: string; doneAt: number };
  /**
   * A `steer` ending: its first request answered at `from` (ms since the epoch), undone
   * by the request sent at `to`; each answer's first line.
   */
  held?: { from: number; to: number; replies: string[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const markerDir = (dir: string, run: number) => path.join(dir, 'ran', String(run));

/** Every marker file of a run (sorted), to compare before and after jobrun's exit. */
function markerFiles(dir: string, run: number): string[] {
  const d = markerDir(dir, run);
  return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
}

/** Every marker file of every run (`run/file`), to compare before and after jobrun's exit. */
export function allMarkerFiles(dir: string): string[] {
  const root = path.join(dir, 'ran');
  return fs
    .readdirSync(root)
    .flatMap((run) => markerFiles(dir, Number(run)).map((f) => `${run}/${f}`));
}

/** The attempts that left a start marker in run `run`, keyed `name.attempt`. */
export function readMarkers(dir: string, run: number): Map<string, Marker> {
  const d = markerDir(dir, run);
  const out = new Map<string, Marker>();
  for (const file of markerFiles(dir, run)) {
    const m = /^(.+)\.(\d+)\.(start|end|stdin)$/.exec(file);
    if (!m?.[1] || !m[2] || !m[3]) continue;
    const key = `${m[1]}.${m[2]}`;
    const text = fs.readFileSync(path.join(d, file), 'utf8');
    const [a = NaN, b = NaN, c = NaN] = text.trim().split(' ').map(Number);
    const marker = out.get(key) ?? {
      name: m[1],
      attempt: Number(m[2]),
      start: NaN,
      group: NaN,
      slot: NaN,
    };
    if (m[3] === 'start') Object.assign(marker, { start: a, group: b, slot: c });
    else if (m[3] === 'end') marker.end = { at: a, code: b };
    else marker.stdin = text;
    out.set(key, marker);
  }
  // an end or stdin file without its start is kept (start NaN): the checks name it
  return out;
}

/** Live (not zombie) processes in any of `groups`, as `pid pgid state` lines. */
export function liveInGroups(groups: Set<number>): string[] {
  const ps = execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' });
  return ps
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => {
      const [, pgid, stat] = l.split(/\s+/);
      return pgid !== undefined && groups.has(Number(pgid)) && !stat?.startsWith('Z');
    });
}

/** The case's own `XDG_RUNTIME_DIR`, where its run registers its control socket. */
const runtimeDir = (dir: string) => {
  const d = path.join(dir, 'xdg');
  fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  return d;
};

/**
 * Sends one control request (`jobrun drain`, `jobrun cancel`'s message) to the run's
 * socket, as soon as the run listens: the verbs' CLI costs a Node start, by which time
 * most of these short runs are over. Returns the answer's first line, or why none came.
 */
async function control(dir: string, request: object): Promise<string> {
  const folder = path.join(runtimeDir(dir), 'jobrun');
  const socket = () =>
    fs.existsSync(folder) ? fs.readdirSync(folder).find((f) => f.endsWith('.sock')) : undefined;
  if (!(await eventually(() => socket() !== undefined, 5000))) return 'no socket';
  return new Promise((resolve) => {
    let answer = '';
    const conn = net.connect(path.join(folder, socket() ?? ''));
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify(request) + '\n'));
    conn.on('data', (d: string) => {
      answer += d;
      if (answer.includes('\n')) conn.end();
    });
    conn.on('error', (err) => resolve(`error: ${err.message}`));
    conn.on('close', () => resolve(answer.split('\n')[0] ?? ''));
  });
}

/** Polls `check` every 25 ms until it is true or `ms` passed; returns its last value. */
export async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await sleep(25);
  }
  return true;
}

/**
 * Runs the built bin in its own process group, in `dir`, with `PROP_RUN=run` (the
 * jobs' marker folder), and ends it as `ending` says: a signal (twice for a graceful
 * stop told twice) or kill -9 once `afterStarts` attempts started (or at once, if the
 * run ends first). Killed with its group after `timeoutMs`, which fails the test.
 */
export function runJobrun(
  dir: string,
  args: string[],
  run: number,
  ending: Ending,
  timeoutMs = 45_000,
  /** What jobrun reads on stdin (through a pipe); none: no stdin. */
  input?: string,
): Promise<Exit> {
  fs.mkdirSync(markerDir(dir, run), { recursive: true });
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: dir,
    detached: true,
    env: {
      ...process.env,
      CI: 'true',
      NO_COLOR: '1',
      FORCE_COLOR: undefined,
      PROP_RUN: String(run),
      XDG_RUNTIME_DIR: runtimeDir(dir),
    },
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  // EPIPE when jobrun stops (or is killed) before it read it all
  child.stdin?.on('error', () => {});
  child.stdin?.end(input);
  const pid = child.pid ?? -1;
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  let exited = false;
  let filesAtExit: string[] = [];
  let signalledAt: number | undefined;
  const done = new Promise<Exit>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
      reject(new Error(`jobrun ${args.join(' ')} did not end in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('exit', () => {
      exited = true;
      filesAtExit = allMarkerFiles(dir);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, pid, filesAtExit, signalledAt });
    });
  });
  let held: Exit['held'];
  const steering =
    ending.kind === 'normal' || ending.kind === 'fail-fast' || ending.kind === 'halt'
      ? undefined
      : ending.kind === 'steer'
        ? steer(ending).then(() => undefined)
        : stopLater(ending);
  return done.then(async (exit) => ({ ...exit, steered: await steering, held }));

  /** Pauses (or scales pool b to 0), and undoes it `holdMs` later, while the run goes on. */
  async function steer(e: Extract<Ending, { kind: 'steer' }>): Promise<void> {
    const starts = () => markerFiles(dir, run).filter((f) => f.endsWith('.start'));
    await eventually(() => exited || starts().length >= e.afterStarts, timeoutMs / 2);
    await sleep(e.delayMs);
    if (exited) return;
    const [hold, undo] =
      e.action === 'pause'
        ? [{ verb: 'pause' }, { verb: 'unpause' }]
        : e.action === 'pause-b'
          ? [
              { verb: 'pause', pool: 'b' },
              { verb: 'unpause', pool: 'b' },
            ]
          : [
              { verb: 'scale', pools: { b: 0 } },
              { verb: 'scale', pools: { b: 2 } },
            ];
    const first = await control(dir, hold);
    const from = Date.now();
    await sleep(e.holdMs);
    const to = Date.now();
    const second = exited ? 'ended' : await control(dir, undo);
    held = { from, to, replies: [first, second] };
  }

  async function stopLater(
    e: Exclude<Ending, { kind: 'normal' | 'fail-fast' | 'halt' | 'steer' }>,
  ): Promise<Exit['steered']> {
    const starts = () => markerFiles(dir, run).filter((f) => f.endsWith('.start'));
    await eventually(() => exited || starts().length >= e.afterStarts, timeoutMs / 2);
    await sleep(e.delayMs);
    if (exited) return;
    if (e.kind !== 'signal' && e.kind !== 'kill9') {
      // cancel the job whose attempt started last (running, unless it just ended)
      const last = starts()
        .map((f) => ({
          f,
          at: Number(fs.readFileSync(path.join(markerDir(dir, run), f), 'utf8').split(' ')[0]),
        }))
        .sort((a, b) => a.at - b.at)
        .at(-1);
      const job = last?.f.replace(/\.\d+\.start$/, '') ?? 'j0';
      const request = e.kind === 'drain' ? { verb: 'drain' } : { verb: 'cancel', jobs: [job] };
      const reply = await control(dir, request);
      return { reply, job, doneAt: Date.now() };
    }
    signalledAt = Date.now();
    if (e.kind === 'kill9') {
      child.kill('SIGKILL');
      return;
    }
    child.kill(e.signal);
    if (!e.graceful?.twice) return;
    await sleep(e.graceful.gapMs);
    if (!exited) child.kill(e.signal);
  }
}
