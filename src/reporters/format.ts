import type { FinalStatus } from '../model/job.js';

/** `850ms`, `12.3s`, `4m05s`, `1h02m`: short and readable at a glance. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * How many jobs of the run may run at once, as the header, the live view and `jobrun ps`
 * say it. On Redis the workers' own slots hold the jobs: `workers` is the run's limit
 * across them (0: none), never the coordinator's CPUs.
 */
export function workersText(workers: number, remote: boolean | undefined): string {
  if (!remote) return `${workers} worker${workers === 1 ? '' : 's'}`;
  return workers > 0 ? `at most ${workers} at once` : "on the Redis workers' slots";
}

/** Colours only when wanted: FORCE_COLOR wins, then NO_COLOR, then whether the stream is a TTY. */
export function colorEnabled(
  stream: { isTTY?: boolean },
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

export type PaintCode = 'red' | 'green' | 'yellow' | 'gray' | 'bold' | 'cyan' | 'blue' | 'magenta';
export type Paint = (code: PaintCode, s: string) => string;

const CODES = {
  red: 31,
  green: 32,
  yellow: 33,
  gray: 90,
  bold: 1,
  cyan: 36,
  blue: 34,
  magenta: 35,
} as const;

export function painter(enabled: boolean): Paint {
  if (!enabled) return (_code, s) => s;
  return (code, s) => `\u001b[${CODES[code]}m${s}\u001b[${code === 'bold' ? 22 : 39}m`;
}

export const STATUS_ICON: Record<FinalStatus, string> = {
  succeeded: '✔',
  cached: '↺',
  failed: '✖',
  timed_out: '⏱',
  skipped: '↷',
  cancelled: '■',
};

export const STATUS_COLOR: Record<FinalStatus, Parameters<Paint>[0]> = {
  succeeded: 'green',
  cached: 'green',
  failed: 'red',
  timed_out: 'red',
  skipped: 'yellow',
  cancelled: 'gray',
};

const STATUS_WORDS: Record<FinalStatus, string> = {
  succeeded: 'succeeded',
  cached: 'cached',
  failed: 'failed',
  timed_out: 'timed out',
  skipped: 'skipped',
  cancelled: 'cancelled',
};

/**
 * `3 succeeded, 1 failed`: each final status with jobs, in its colour; succeeded is
 * listed even at 0 with `alwaysSucceeded` (a progress line that has to say something).
 */
export function statusCounts(
  counts: Record<FinalStatus, number>,
  p: Paint,
  alwaysSucceeded = false,
): string {
  return (Object.keys(STATUS_WORDS) as FinalStatus[])
    .filter((s) => counts[s] > 0 || (alwaysSucceeded && s === 'succeeded'))
    .map((s) => p(STATUS_COLOR[s], `${counts[s]} ${STATUS_WORDS[s]}`))
    .join(', ');
}

/** A job's output tail, indented under its line. */
export function indentTail(tail: string, prefix = '    │ '): string {
  return tail
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => prefix + line)
    .join('\n');
}
