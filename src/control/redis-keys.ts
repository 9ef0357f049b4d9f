import { PREFIX } from '../backends/redis-names.js';

/**
 * Where runs on Redis make themselves reachable (`jobrun ps --backend …`, `scale`,
 * `drain` …): a sorted set of run ids (by start time), one entry per run that lapses
 * unless its coordinator renews it (so a coordinator killed with -9 drops out of the
 * listing by itself), a pub/sub channel per run for requests, and a short-lived list
 * per request for its answer.
 */
export const RUNS_KEY = `${PREFIX}:meta:runs`;

/** How often a coordinator renews its entry (and the counts in it). */
export const HEARTBEAT_MS = 1000;

/** How long an entry outlives its last renewal: a stuck or killed coordinator's is gone by then. */
export const ENTRY_TTL_MS = 10_000;

/** How long an answer waits to be read: a client that gave up leaves nothing behind for long. */
export const REPLY_TTL_MS = 60_000;

/** The run ids that can name a key: what the local registry accepts too. */
export const RUN_ID = /^[\w.-]{1,200}$/;

export function entryKey(runId: string): string {
  return `${PREFIX}:meta:run-entry:${runId}`;
}

export function controlChannel(runId: string): string {
  return `${PREFIX}:meta:ctl:${runId}`;
}

/** Where a run publishes its events while someone watches it (`jobrun watch --backend …`). */
export function eventsChannel(runId: string): string {
  return `${PREFIX}:meta:events:${runId}`;
}

/** Prefix of the reply lists of `runId`'s requests: the only keys a request may name. */
export function replyPrefix(runId: string): string {
  return `${PREFIX}:meta:ctl-reply:${runId}:`;
}

/** A request's reply key must be exactly this: the run's prefix and 32 hex digits. */
export function isReplyKey(runId: string, key: string): boolean {
  const prefix = replyPrefix(runId);
  return key.startsWith(prefix) && /^[0-9a-f]{32}$/.test(key.slice(prefix.length));
}
