import { groupAlive, killGroup } from './kill.js';
import { bootId, procStat } from './proc.js';

/** A job's process group as an earlier jobrun recorded it. */
export interface RecordedGroup {
  pid: number;
  /** The boot it ran in: after a reboot nothing of it is left. */
  boot?: string;
  /** The leader's start time in ticks: a leader with another one is a recycled pid. */
  start?: number;
}

/**
 * What a recorded group is now:
 * - `ours`: this boot, and its leader still runs with the recorded start time. Only
 *   such a group is ever signalled.
 * - `gone`: another boot, a recycled pid (its process started at another time), or no
 *   process left in a group of that id.
 * - `unsure`: a group of that id lives, but nothing proves it is the recorded one: its
 *   leader is gone (a later process that got the pid may have made a group of the same
 *   id), or no start time or boot id was recorded, or there is no /proc to ask.
 */
export type GroupIdentity = 'ours' | 'gone' | 'unsure';

export function identify(group: RecordedGroup): GroupIdentity {
  const here = bootId();
  if (group.boot !== undefined && here !== undefined && group.boot !== here) return 'gone';
  const leader = procStat(group.pid);
  if (leader !== undefined && group.start !== undefined && leader.startTicks !== group.start)
    return 'gone';
  if (!groupAlive(group.pid)) return 'gone';
  // a zombie leader with the recorded start still holds its pid: the group is ours
  const sure =
    leader !== undefined &&
    group.start !== undefined &&
    group.boot !== undefined &&
    group.boot === here;
  return sure ? 'ours' : 'unsure';
}

/**
 * Stops groups left running by an earlier jobrun that died (kill -9): SIGTERM, then
 * SIGKILL to whatever is left after `graceMs`, and only groups known for sure to be
 * the recorded ones (see {@link identify}). Resolves once every stopped group is gone,
 * so a job is never run again beside its leftover, with the pids it stopped and those
 * it left alone because it could not be sure.
 */
export async function stopLeftoverGroups(
  groups: RecordedGroup[],
  graceMs: number,
  pollMs = 25,
): Promise<{ stopped: number[]; unsure: number[] }> {
  const live: number[] = [];
  const unsure: number[] = [];
  for (const group of groups) {
    const identity = identify(group);
    if (identity === 'ours') live.push(group.pid);
    else if (identity === 'unsure') unsure.push(group.pid);
  }
  for (const pid of live) killGroup(pid, 'SIGTERM');
  const left = await untilGone(live, graceMs, pollMs);
  for (const pid of left) killGroup(pid, 'SIGKILL');
  // SIGKILL is not refused; only a stuck disk delays it
  await untilGone(left, KILLED_WITHIN_MS, pollMs);
  return { stopped: live, unsure };
}

/**
 * Waits for the spawners an earlier jobrun left (kill -9) to exit: each stops its jobs as
 * it sees jobrun gone (SIGTERM, SIGKILL after their kill grace), also a job whose start
 * it had not told jobrun yet, which no journal line names; then it exits. None is
 * signalled (it is stopping its jobs), and only those known for sure to be the recorded
 * ones are waited for (see {@link identify}), at most `graceMs` and 5 s more. Resolves
 * with the pids of those still alive then.
 */
export async function spawnersGone(
  spawners: RecordedGroup[],
  graceMs: number,
  pollMs = 25,
): Promise<number[]> {
  const ours = spawners.filter((s) => identify(s) === 'ours').map((s) => s.pid);
  return untilGone(ours, graceMs + KILLED_WITHIN_MS, pollMs);
}

/** How long a group SIGKILLed may take to be gone. */
const KILLED_WITHIN_MS = 5_000;

/** Waits up to `ms` for the groups `pids` to have no process left; resolves with those that still have. */
async function untilGone(pids: number[], ms: number, pollMs: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  let left = pids;
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, pollMs));
    left = left.filter((pid) => groupAlive(pid));
  }
  return left;
}
