import { createExecutor, type SpawnerChoice } from '../exec/choose-executor.js';
import type { Backend } from './backend.js';
import { createLocalBackend } from './local.js';
import type { RedisTarget } from './redis-url.js';

/** Where a run's jobs execute: here, or on `jobrun worker`s through Redis. */
export type BackendChoice = { kind: 'local' } | { kind: 'redis'; target: RedisTarget };

/**
 * `--backend`: `local` (the default, starting jobs as `spawner` says) or Redis. The Redis
 * backend is loaded only when asked for, so local runs never pay for BullMQ's import.
 */
export async function openBackend(
  choice: BackendChoice,
  spawner: SpawnerChoice = 'auto',
  redis: { unreachableLimitMs?: number } = {},
): Promise<Backend> {
  if (choice.kind === 'local') return createLocalBackend(createExecutor(spawner));
  const { openRedisBackend } = await import('./redis-coordinator.js');
  return openRedisBackend(choice.target, redis);
}
