import { constants } from 'node:os';

/**
 * One name per signal number, the one `node:child_process` reports: the first that
 * Node lists for it (SIGABRT, not its alias SIGIOT; SIGIO, not SIGPOLL). The spawner
 * reports numbers and they are named here, so the same death reads the same under
 * both executors.
 */
const NAMES = new Map<number, string>();
for (const [name, num] of Object.entries(constants.signals))
  if (!NAMES.has(num)) NAMES.set(num, name);

export function signalName(num: number): string {
  return NAMES.get(num) ?? `signal ${num}`;
}

/** The number of a signal by name, for a spawner that signals a group on jobrun's behalf. */
export function signalNumber(name: NodeJS.Signals): number {
  return constants.signals[name];
}
