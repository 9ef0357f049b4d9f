import { constants } from 'node:os';

/**
 * Signals to a job's whole process group. Jobs lead their own session and group
 * (`detached`, or the spawner's setsid), so the leader's pid is the group id, and its
 * children and grandchildren inherit that group unless they move out on purpose.
 */
import { groupMembers } from './proc.js';

/**
 * `process.kill` throws for a process that is gone, and every job's end kills its
 * (usually empty) group: an exception with a stack per job. Node's binding under it
 * returns the errno instead; it is used when present, `process.kill` otherwise.
 */
const rawKill = (process as unknown as { _kill?: (pid: number, signal: number) => number })._kill;
const ESRCH = constants.errno.ESRCH;
const EPERM = constants.errno.EPERM;

/** 0 when delivered, else a positive errno. */
function send(target: number, signal: NodeJS.Signals | 0): number {
  const num = signal === 0 ? 0 : constants.signals[signal];
  if (typeof rawKill === 'function') return Math.abs(rawKill.call(process, target, num));
  try {
    process.kill(target, signal);
    return 0;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return ESRCH;
    if (code === 'EPERM') return EPERM;
    throw err;
  }
}

/**
 * Send `signal` to every process in the group led by `pid`. A group that is
 * already gone (ESRCH) is not an error; nor is EPERM, which happens when the
 * only members left are zombies or a member changed its credentials (setuid).
 * Returns whether the signal was delivered to at least one process.
 */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (pid === undefined || pid <= 0) return false;
  const errno = send(-pid, signal);
  if (errno === 0) return true;
  if (errno === ESRCH || errno === EPERM) return false;
  throw new Error(`cannot send ${signal} to process group ${pid}: errno ${errno}`);
}

/**
 * Is any process of the group led by `pid` still running? A group whose members we
 * may not signal (EPERM) counts as gone: nothing more can be done about it. Nor do
 * zombies count: `kill(-pgid, 0)` succeeds while killed members wait to be reaped,
 * which, when jobrun is PID 1 and nobody reaps its adopted grandchildren, is forever.
 */
export function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0 || send(-pid, 0) !== 0) return false;
  const members = groupMembers(pid!);
  return members === undefined || members.some((m) => m.state !== 'Z');
}

/** The process groups of jobs started and not yet known to be gone. */
const liveGroups = new Set<number>();

/** Remember a job's group, so an unplanned exit of jobrun can take it along. */
export function trackGroup(pid: number | undefined): void {
  if (pid !== undefined && pid > 0) liveGroups.add(pid);
}

export function untrackGroup(pid: number | undefined): void {
  if (pid !== undefined) liveGroups.delete(pid);
}

/**
 * SIGKILL every job group still alive; synchronous, for `process.on('exit')`. A
 * planned end has no group left; this is for crashes, so no job outlives jobrun.
 * Returns how many groups were signalled.
 */
export function killLiveGroups(): number {
  let n = 0;
  for (const pid of liveGroups) if (killGroup(pid, 'SIGKILL')) n++;
  liveGroups.clear();
  return n;
}
