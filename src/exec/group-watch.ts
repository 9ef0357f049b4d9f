import { killGroup } from './kill.js';
import { liveGroups } from './proc.js';

/** How often groups being waited on are checked. */
const TICK_MS = 25;

interface Waiter {
  pid: number;
  /** True once waiting is pointless (the grace is over and SIGKILL was sent). */
  over: () => boolean;
  resolve: () => void;
}

const waiters = new Set<Waiter>();
let timer: ReturnType<typeof setTimeout> | undefined;

/**
 * Resolves once the process group `pid` has no member left but zombies, or `over()`
 * says to stop waiting. Every stopping attempt waits here together: a tick asks
 * `kill(-pgid, 0)` per group, which rules out most at once, and walks /proc once for
 * all the groups left, where a walk per group per tick made the cost of a mass stop
 * grow with the square of the jobs running.
 */
export function whenGroupGone(pid: number | undefined, over: () => boolean): Promise<void> {
  if (pid === undefined || over() || !killGroup(pid, 0)) return Promise.resolve();
  return new Promise((resolve) => {
    waiters.add({ pid, over, resolve });
    timer ??= setTimeout(tick, TICK_MS);
  });
}

function tick(): void {
  timer = undefined;
  let live: Set<number> | undefined | null = null; // null: not walked yet this tick
  for (const waiter of waiters) {
    let gone = waiter.over() || !killGroup(waiter.pid, 0);
    if (!gone) {
      if (live === null) live = liveGroups();
      gone = live !== undefined && !live.has(waiter.pid);
    }
    if (gone) {
      waiters.delete(waiter);
      waiter.resolve();
    }
  }
  if (waiters.size > 0) timer = setTimeout(tick, TICK_MS);
}
