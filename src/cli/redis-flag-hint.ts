/**
 * `--redis URL`, as one would guess the flag: commander says `unknown option '--redis'`
 * and, for `run`, "Did you mean --retries?". The Redis URL goes to `--backend` (run,
 * retry and the verbs that reach a run), or is a worker's argument.
 */
import type { Command } from 'commander';

const GUESSES = new Set(['--redis', '--redis-url', '--redis-host']);

/** Where the URL goes instead, when `command` failed on a guessed `--redis` flag. */
export function redisFlagHint(
  command: Command | undefined,
  commanderMessage: string,
): string | undefined {
  const flag = /unknown option '(--[^'=]+)/.exec(commanderMessage)?.[1];
  if (command === undefined || flag === undefined || !GUESSES.has(flag)) return undefined;
  const name = command.name();
  if (name === 'worker')
    return `jobrun: ${flag} is no option of worker; the Redis URL is its argument: jobrun worker redis://host:port`;
  if (!command.options.some((o) => o.long === '--backend')) return undefined;
  return `jobrun: ${flag} is no option of ${name}; give the Redis URL with --backend: jobrun ${name} … --backend redis://host:port`;
}
