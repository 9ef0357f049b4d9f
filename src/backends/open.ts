import { UsageError } from '../errors.js';
import { createExecutor, type SpawnerChoice } from '../exec/choose-executor.js';
import type { Backend } from './backend.js';
import { createLocalBackend } from './local.js';
import { redactUrl } from './redis-url.js';

/**
 * `--backend`: `local` (the default, starting jobs as `spawner` says) or a Redis URL. The Redis backend is loaded
 * only when asked for, so local runs never pay for BullMQ's import.
 */
export async function openBackend(
  spec: string | undefined,
  spawner: SpawnerChoice = 'auto',
): Promise<Backend> {
  if (spec === undefined || spec === 'local') return createLocalBackend(createExecutor(spawner));
  if (/^rediss?:\/\//i.test(spec)) {
    const { openRedisBackend } = await import('./redis-coordinator.js');
    return openRedisBackend(spec);
  }
  throw new UsageError(
    `--backend "${redactUrl(spec)}": use local, or redis://[user:pass@]host:port[/db] (rediss:// for TLS)`,
  );
}
