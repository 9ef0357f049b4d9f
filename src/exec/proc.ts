import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

/**
 * What Linux's /proc says about processes. Elsewhere (no /proc) every function
 * answers "unknown" and callers fall back to what `kill(pid, 0)` can tell.
 */

/** One process, from `/proc/<pid>/stat`. */
export interface ProcStat {
  pid: number;
  /** `R`, `S`, `D`, `T`, `Z` (zombie: exited, not yet reaped by its parent), … */
  state: string;
  pgid: number;
  /** Start time in clock ticks since boot: with the boot id, it names one process for good. */
  startTicks: number;
}

/**
 * One buffer for every read: `readFileSync` of a /proc file (whose size it cannot know)
 * allocates 64 KiB and copies it for each call, which on a run of small jobs is most of
 * what reading a process's start costs. A stat line is far shorter than this buffer.
 */
const statBuffer = Buffer.allocUnsafe(4096);

/** Parses `/proc/<pid>/stat`; undefined when the process is gone. */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  let fd: number | undefined;
  try {
    fd = openSync(`/proc/${pid}/stat`, 'r');
    const size = readSync(fd, statBuffer, 0, statBuffer.length, 0);
    text = statBuffer.toString('latin1', 0, size);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // the command name sits in parentheses and may itself hold ")" and spaces
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return {
    pid,
    state: fields[0] ?? '?',
    pgid: Number(fields[2]),
    startTicks: Number(fields[19]),
  };
}

/** Whether /proc is mounted here (an empty /proc folder would say every group is gone). */
let hasProc: boolean | undefined;

function procMounted(): boolean {
  if (hasProc === undefined) {
    try {
      readdirSync('/proc/self');
      hasProc = true;
    } catch {
      hasProc = false;
    }
  }
  return hasProc;
}

/** Every process in the group `pgid`, zombies included; undefined without /proc. */
export function groupMembers(pgid: number): ProcStat[] | undefined {
  return processes()?.filter((stat) => stat.pgid === pgid);
}

/**
 * The process groups that have a member other than a zombie, from one walk of /proc;
 * undefined without /proc. One walk answers for every group a caller waits on.
 */
export function liveGroups(): Set<number> | undefined {
  const all = processes();
  if (all === undefined) return undefined;
  return new Set(all.filter((stat) => stat.state !== 'Z').map((stat) => stat.pgid));
}

/** One walk of /proc: every process's stat; undefined without /proc. */
function processes(): ProcStat[] | undefined {
  if (!procMounted()) return undefined;
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  const all: ProcStat[] = [];
  for (const name of names) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    const stat = procStat(Number(name));
    if (stat !== undefined) all.push(stat);
  }
  return all;
}

/** This boot's id: pids and start times mean nothing across a reboot. Read once. */
let boot: { id: string | undefined } | undefined;

export function bootId(): string | undefined {
  if (boot === undefined) {
    try {
      boot = { id: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() };
    } catch {
      boot = { id: undefined };
    }
  }
  return boot.id;
}

/**
 * Is `rec` (a process as recorded: pid, boot id, start time) the process that now has
 * its pid? False when it ran in another boot or the pid's process started at another
 * time; true when the start time matches (or none was recorded); undefined when /proc
 * has no such pid (gone, or no /proc: the caller asks `kill` instead).
 */
export function sameProcess(rec: {
  pid: number;
  boot?: string;
  start?: number;
}): boolean | undefined {
  const here = bootId();
  if (rec.boot !== undefined && here !== undefined && rec.boot !== here) return false;
  const stat = procStat(rec.pid);
  if (stat === undefined) return undefined;
  return rec.start === undefined || stat.startTicks === rec.start;
}
