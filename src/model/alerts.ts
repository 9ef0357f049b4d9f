/**
 * When a run raises an alert (`alerts:` in a manifest, `--alert-*` flags), and what
 * runs when it does or when the run ends (`on_end:`).
 */
export interface AlertsSpec {
  /** Jobs waiting above `above` for longer than `forMs`. */
  queueDepth?: { above: number; forMs: number };
  /** Of the last `last` jobs that ran and ended, more than `abovePercent` % failed. */
  failureRate?: { abovePercent: number; last: number };
  /** No job ended for this long while jobs were running or waiting. */
  stalledMs?: number;
  /** A shell command run when an alert fires (and when it clears). */
  run?: string;
}

/** The run's hooks: alerts, and the command run once it ended. */
export interface HooksSpec {
  alerts?: AlertsSpec;
  onEnd?: string;
}
