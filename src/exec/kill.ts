/**
 * Signals to a job's whole process group. Jobs are spawned `detached`, so the
 * shell leads a group whose id is its pid, and its children and grandchildren
 * inherit that group unless they move out on purpose (setsid).
 */
import { groupMembers } from './proc.js';

/**
 * Send `signal` to every process in the group led by `pid`. A group that is
 * already gone (ESRCH) is not an error; nor is EPERM, which happens when the
 * only members left are zombies or a member changed its credentials (setuid).
 * Returns whether the signal was delivered to at least one process.
 */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return false;
    throw err;
  }
}

/**
 * Is any process of the group led by `pid` still running? A group whose members we
 * may not signal (EPERM) counts as gone: nothing more can be done about it. Nor do
 * zombies count: `kill(-pgid, 0)` succeeds while killed members wait to be reaped,
 * which, when jobrun is PID 1 and nobody reaps its adopted grandchildren, is forever.
 */
export function groupAlive(pid: number | undefined): boolean {
  if (!killGroup(pid, 0)) return false;
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
