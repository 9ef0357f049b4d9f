import { createHelperExecutor } from './helper-executor.js';
import { createLocalExecutor } from './local-executor.js';
import type { SpawnerChoice } from './spawner-choice.js';
import type { Executor } from './types.js';

/** Platforms where the Python spawner's posix_spawn with setsid is known to work. */
const HELPER_PLATFORMS: readonly string[] = ['linux', 'darwin', 'freebsd'];

/**
 * The executor for `choice`:
 * - `helper`: per-slot spawner processes (python3 ≥ 3.8, `os.posix_spawn`); a spawner
 *   that cannot run makes each attempt an error.
 * - `child`: `node:child_process`, one fork of jobrun per job.
 * - `auto`: the spawner where the platform allows, falling back to `child` by itself
 *   when the first spawner fails to come up (`onFallback` is told why, once).
 * Output shown line by line (`--output stream`) always uses `child`; streams kept apart
 * (`--output grouped`, `--results`, captured results) stay with the spawner.
 */
export function createExecutor(
  choice: SpawnerChoice = 'auto',
  onFallback?: (why: string) => void,
): Executor {
  const child = createLocalExecutor();
  if (choice === 'child') return child;
  if (choice === 'auto' && !HELPER_PLATFORMS.includes(process.platform)) return child;
  return createHelperExecutor({ fallback: child, strict: choice === 'helper', onFallback });
}
