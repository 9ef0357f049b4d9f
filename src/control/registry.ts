import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { holderAlive } from '../core/journal-lock.js';
import { bootId, procStat } from '../exec/proc.js';

/**
 * Where live runs say they are: one `<run-id>.json` entry and one `<run-id>.sock`
 * control socket per run, in a folder only the user may enter (0700), under
 * `$XDG_RUNTIME_DIR/jobrun`, else `<tmp>/jobrun-<uid>`. An entry names its run's
 * process for good (pid, boot id, start time): one whose process is gone (kill -9)
 * is stale, and whoever lists the runs removes it.
 */
export interface RunEntry {
  runId: string;
  pid: number;
  boot?: string;
  start?: number;
  /** The folder the run was started in. */
  cwd: string;
  /** The manifest, or the command line of an ad-hoc run. */
  what: string;
  /** ISO time. */
  startedAt: string;
  socket: string;
}

/** What a RUN argument is matched against: here, or a run listed in Redis. */
export type RunLike = Pick<RunEntry, 'runId' | 'pid' | 'what' | 'cwd'>;

/** The user's run folder, made (0700) when missing; refused when another user could enter it. */
function runsDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.() ?? 0;
  const dir = base ? path.join(base, 'jobrun') : path.join(os.tmpdir(), `jobrun-${uid}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== uid) {
    throw new UsageError(`${dir} is not a folder of this user's; runs cannot register there`);
  }
  if ((stat.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
  return dir;
}

/** Registers this process's run; returns the entry and the function that removes it. */
export function register(
  runId: string,
  what: string,
  dir = runsDir(),
): { entry: RunEntry; remove: () => void } {
  const entry: RunEntry = {
    runId,
    pid: process.pid,
    boot: bootId(),
    start: procStat(process.pid)?.startTicks,
    cwd: process.cwd(),
    what,
    startedAt: new Date().toISOString(),
    socket: path.join(dir, `${runId}.sock`),
  };
  const file = path.join(dir, `${runId}.json`);
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, JSON.stringify(entry) + '\n', { mode: 0o600 });
  fs.renameSync(temp, file);
  return { entry, remove: () => removeEntry(dir, runId) };
}

function removeEntry(dir: string, runId: string): void {
  fs.rmSync(path.join(dir, `${runId}.json`), { force: true });
  fs.rmSync(path.join(dir, `${runId}.sock`), { force: true });
}

/**
 * Whether `run` went away without ending: a run that ends removes its entry before
 * it stops answering, so an entry left behind by a run that does not answer means
 * it was killed (kill -9, the OOM killer). Someone listing the runs meanwhile removes
 * it, and then this cannot tell.
 */
export function diedListed(run: RunEntry): boolean {
  const file = path.join(path.dirname(run.socket), `${run.runId}.json`);
  // a zombie (killed, not yet reaped by its parent) still shows in /proc as itself
  return (
    readEntry(file)?.pid === run.pid && (!holderAlive(run) || procStat(run.pid)?.state === 'Z')
  );
}

/** The user's live runs, oldest first; stale entries are removed on the way. */
export function liveRuns(dir = runsDir()): RunEntry[] {
  const runs: RunEntry[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith('.json')) continue;
    const entry = readEntry(path.join(dir, name));
    if (entry === undefined) continue;
    if (holderAlive(entry)) runs.push(entry);
    else removeEntry(dir, entry.runId);
  }
  return runs.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

function readEntry(file: string): RunEntry | undefined {
  try {
    const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<RunEntry>;
    const ok =
      typeof entry.pid === 'number' &&
      typeof entry.runId === 'string' &&
      /^[\w.-]+$/.test(entry.runId) &&
      typeof entry.socket === 'string';
    return ok ? (entry as RunEntry) : undefined;
  } catch {
    return undefined; // half-written or removed meanwhile
  }
}

/**
 * The live run `arg` names: its id, a unique prefix of one, or its pid. Without
 * `arg`, the only live run. Undefined when `arg` names none (a caller that takes job
 * names then reads it as one); a usage error when it is ambiguous or no run is live.
 */
export function findRun<T extends RunLike>(
  arg: string | undefined,
  runs: T[],
  where = 'for this user',
): T | undefined {
  if (arg === undefined) {
    if (runs.length === 1) return runs[0];
    if (runs.length === 0) throw new UsageError(`no jobrun run is live (${where})`);
    throw new UsageError(`${runs.length} runs are live; name one:\n${listing(runs)}`);
  }
  const byPid = runs.find((r) => String(r.pid) === arg);
  if (byPid) return byPid;
  const matches = runs.filter((r) => r.runId.startsWith(arg));
  if (matches.length > 1) {
    throw new UsageError(
      `"${arg}" names ${matches.length} runs; give more of the id:\n${listing(matches)}`,
    );
  }
  return matches[0];
}

/** Like `findRun`, but `arg` must name a run. */
export function requireRun<T extends RunLike>(
  arg: string | undefined,
  runs: T[],
  where?: string,
): T {
  const run = findRun(arg, runs, where);
  if (run) return run;
  const live = runs.length ? `; live runs:\n${listing(runs)}` : '; no run is live';
  throw new UsageError(`no live run is "${arg}"${live}`);
}

function listing(runs: RunLike[]): string {
  return runs.map((r) => `  ${r.runId}  pid ${r.pid}  ${r.what}  (${r.cwd})`).join('\n');
}
