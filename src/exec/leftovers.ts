import { groupAlive, killGroup } from './kill.js';
import { sameProcess } from './proc.js';

/** A job's process group as an earlier jobrun recorded it. */
export interface RecordedGroup {
  pid: number;
  /** The boot it ran in: after a reboot nothing of it is left. */
  boot?: string;
  /** The leader's start time in ticks: a leader with another one is a recycled pid. */
  start?: number;
}

/**
 * Is the recorded group still there and still ours? Linux does not hand out a pid
 * while a group of that id exists, so a live group whose leader is gone is the
 * recorded one; a live leader must also have the recorded start time.
 */
function stillRunning(group: RecordedGroup): boolean {
  return sameProcess(group) !== false && groupAlive(group.pid);
}

/**
 * Stops groups left running by an earlier jobrun that died (kill -9): SIGTERM, then
 * SIGKILL to whatever is left after `graceMs`. Resolves with the pids it stopped,
 * once every one of them is gone, so a job is never run again beside its leftover.
 */
export async function stopLeftoverGroups(
  groups: RecordedGroup[],
  graceMs: number,
  pollMs = 25,
): Promise<number[]> {
  const live = groups.filter(stillRunning).map((g) => g.pid);
  for (const pid of live) killGroup(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  let left = live;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    left = left.filter((pid) => groupAlive(pid));
  }
  for (const pid of left) killGroup(pid, 'SIGKILL');
  const killedBy = Date.now() + 5_000; // SIGKILL is not refused; only a stuck disk delays it
  while (left.length > 0 && Date.now() < killedBy) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    left = left.filter((pid) => groupAlive(pid));
  }
  return live;
}
