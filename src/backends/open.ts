import { createExecutor } from '../exec/choose-executor.js';
import type { SpawnerChoice } from '../exec/spawner-choice.js';
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
  more: {
    unreachableLimitMs?: number;
    unservedNoticeMs?: number;
    onSpawnerFallback?: (why: string) => void;
  } = {},
): Promise<Backend> {
  const { onSpawnerFallback, ...redis } = more;
  if (choice.kind === 'local')
    return createLocalBackend(createExecutor(spawner, onSpawnerFallback));
  const { openRedisBackend } = await import('./redis-coordinator.js');
  return openRedisBackend(choice.target, redis);
}
