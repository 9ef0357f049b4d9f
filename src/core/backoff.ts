import type { BackoffSpec } from '../model/job.js';

/**
 * How long to wait before attempt `nextAttempt` (2 for the first retry):
 * `delay * factor^(nextAttempt-2)`, capped at `max`. With jitter the wait is drawn
 * from [d/2, d] ("equal jitter"), so retries of many jobs spread out but never wait
 * less than half the configured delay. A pure function: `random` is injected.
 */
export function backoffDelay(
  spec: BackoffSpec,
  nextAttempt: number,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, nextAttempt - 2);
  const raw = Math.min(spec.maxMs, spec.delayMs * Math.pow(spec.factor, exponent));
  const delay = Number.isFinite(raw) ? raw : spec.maxMs;
  if (!spec.jitter) return Math.round(delay);
  return Math.round(delay / 2 + random() * (delay / 2));
}
