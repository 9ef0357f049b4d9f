/**
 * Signals to a job's whole process group. Jobs are spawned `detached`, so the
 * shell leads a group whose id is its pid, and its children and grandchildren
 * inherit that group unless they move out on purpose (setsid).
 */

/**
 * Send `signal` to every process in the group led by `pid`. A group that is
 * already gone (ESRCH) is not an error; nor is EPERM, which happens when the
 * only members left are zombies or a member changed its credentials (setuid).
 * Returns whether the signal was delivered to at least one process.
 */
export function killGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
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
 * Is any process of the group led by `pid` still there? A group whose members we may
 * not signal (EPERM) counts as gone: nothing more can be done about it.
 */
export function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
