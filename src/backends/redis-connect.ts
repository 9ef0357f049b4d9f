import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { JobrunError } from '../errors.js';
import { scrub, type RedisTarget } from './redis-url.js';

/** Redis could not be reached or refused us; exit 2 with the redacted URL. */
export class BackendError extends JobrunError {
  constructor(message: string) {
    super(message, 'E_BACKEND');
  }
}

/** Options for BullMQ's long-lived connections: they retry forever, as BullMQ requires. */
export function bullConnection(target: RedisTarget): ConnectionOptions & RedisOptions {
  return { ...target.options, maxRetriesPerRequest: null } as ConnectionOptions & RedisOptions;
}

/** A connection that fails at once instead of retrying: for a check, or a short command. */
export function oneShot(target: RedisTarget, timeoutMs: number): RedisOptions {
  return {
    ...target.options,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    // ioredis otherwise keeps a failed connection's process alive for 2 s
    disconnectTimeout: 10,
  };
}

/**
 * Connects once, pings and disconnects, failing fast with a clear message: a wrong
 * host, port or password is reported before anything is enqueued, never as an
 * endless reconnect loop. The message names the redacted URL only.
 */
export async function checkRedis(target: RedisTarget, timeoutMs = 5000): Promise<void> {
  const probe = new Redis(oneShot(target, timeoutMs));
  let lastError: Error | undefined;
  probe.on('error', (err: Error) => (lastError = err));
  try {
    await probe.connect();
    await probe.ping();
    // ioredis selects the database on connect but only logs a failure: ask again, so a
    // database that does not exist (`/99999`) is an error here, not a silent hang later
    const db = target.options.db ?? 0;
    if (db !== 0) await probe.select(db);
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
