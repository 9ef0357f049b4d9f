import type { StopSignal } from '../model/stop.js';
import { formatDuration } from './format.js';

/** What a stop request does to the running jobs, told to people as it happens. */
export interface StopNotice {
  signal: StopSignal;
  /** Jobs running when the request came, as the reporters heard of their starts. */
  running: number;
  /**
   * Jobs handed to be run and not heard to end, where the run knows: more than `running`
   * when a start is not heard of yet (a spawner tells it late), so "up to" that many.
   */
  handed?: number;
  /** The longest time a running job gets between SIGTERM and SIGKILL. */
  graceMs: number;
  /** A second request: the grace is skipped. */
  forced: boolean;
}

/**
 * The one wording of "the run is stopping": which jobs are being stopped, how long
 * they may take, and how to stop them at once. Every reporter that shows it calls this.
 */
export function stoppingLine(n: StopNotice): string {
  const upTo = n.handed !== undefined && n.handed > n.running;
  const count = upTo ? n.handed! : n.running;
  const jobs = `${upTo ? 'up to ' : ''}${count} running job${count === 1 ? '' : 's'}`;
  if (n.forced) return `jobrun: stopping now: SIGKILL to ${jobs}`;
  const again = n.signal === 'SIGINT' ? 'Ctrl-C' : n.signal;
  if (count === 0) return `jobrun: stopping (${n.signal}): nothing new starts`;
  return `jobrun: stopping: SIGTERM to ${jobs}, SIGKILL in ${formatDuration(n.graceMs)} (${again} again: now)`;
}

/** The last line of an interrupted run: how to run what did not finish. */
export function resumeLine(command: string): string {
  return `jobrun: to run what did not finish: ${command}`;
}
