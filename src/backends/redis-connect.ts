import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { JobrunError } from '../errors.js';
import { scrub, type RedisTarget } from './redis-url.js';

/** Redis could not be reached or refused us; exit 2 with the redacted URL. */
class BackendError extends JobrunError {
  constructor(message: string) {
    super(message, 'E_BACKEND');
  }
}

/** Options for BullMQ's long-lived connections: they retry forever, as BullMQ requires. */
export function bullConnection(target: RedisTarget): ConnectionOptions & RedisOptions {
  return { ...target.options, maxRetriesPerRequest: null } as ConnectionOptions & RedisOptions;
}

/**
 * Connects once, pings and disconnects, failing fast with a clear message: a wrong
 * host, port or password is reported before anything is enqueued, never as an
 * endless reconnect loop. The message names the redacted URL only.
 */
export async function checkRedis(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  const probe = new Redis({
    ...target.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    // ioredis otherwise keeps a failed connection's process alive for 2 s
    disconnectTimeout: 10,
  });
  let lastError: Error | undefined;
  probe.on('error', (err: Error) => (lastError = err));
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    const why = describe(lastError ?? (err as Error), target);
    throw new BackendError(`cannot use Redis at ${target.safe}: ${why}`);
  } finally {
    probe.disconnect();
  }
}

/** A one-line, secret-free description of a Redis error. */
export function describe(err: unknown, target: RedisTarget): string {
  const message = err instanceof Error ? err.message : String(err);
  return scrub(message.split('\n')[0] ?? message, target.secrets);
}
