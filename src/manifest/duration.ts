/**
 * Parsers for the human-written quantities in manifests and flags: durations
 * (`500ms`, `30s`, `1m30s`), timeouts (a duration or `300%`) and memory sizes (`512M`).
 * They throw a plain `Error` whose message names the bad value; the manifest loader
 * turns it into a positioned issue, the CLI into a `UsageError`.
 */
import type { TimeoutSpec } from '../model/job.js';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** `what` prefixes messages (`--timeout: invalid duration …`); pass '' for none. */
function label(what: string): string {
  return what ? `${what}: ` : '';
}

const NUMBER = /^\d+(?:\.\d+)?$|^\.\d+$/;
const PART = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/gy;

/**
 * Parses a duration into whole milliseconds (rounded).
 *
 * Accepted: a unit-suffixed number (`500ms`, `30s`, `5m`, `1h`, `2d`, `1.5s`), a
 * sequence of those (`1h30m`, `1m30s`), or a bare non-negative number, which counts
 * seconds — as a YAML number or a numeric string (`"10"`). Zero is allowed; negative,
 * non-finite and unit-less junk values throw an `Error` whose message starts with
 * `what: ` (e.g. `--timeout`), or has no prefix when `what` is ''.
 */
export function parseDuration(v: string | number, what: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) {
      throw new Error(`${label(what)}must be a non-negative duration, got ${String(v)}`);
    }
    return Math.round(v * 1000);
  }
  const text = v.trim();
  if (NUMBER.test(text)) return Math.round(Number(text) * 1000);
  let total = 0;
  let matched = 0;
  PART.lastIndex = 0;
  for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? Number.NaN);
    matched = PART.lastIndex;
  }
  if (text === '' || matched !== text.length || !Number.isFinite(total)) {
    throw new Error(
      `${label(what)}invalid duration ${JSON.stringify(v)} (use e.g. 500ms, 30s, 5m, 1h, or a number of seconds)`,
    );
  }
  return Math.round(total);
}

/**
 * Parses a job timeout: a positive duration (see `parseDuration`) → `{ ms }`, or a
 * positive percentage `N%` → `{ percent: N }`, meaning N% of the median duration of the
 * jobs that already succeeded. Zero is rejected: to have no timeout, leave it unset.
 */
export function parseTimeout(v: string | number, what = 'timeout'): TimeoutSpec {
  if (typeof v === 'string' && v.trim().endsWith('%')) {
    const num = v.trim().slice(0, -1).trim();
    const percent = Number(num);
    if (!NUMBER.test(num) || !(percent > 0)) {
      throw new Error(`${label(what)}invalid percentage ${JSON.stringify(v)} (use e.g. 300%)`);
    }
    return { percent };
  }
  const ms = parseDuration(v, what);
  if (ms <= 0)
    throw new Error(`${label(what)}must be greater than 0 (leave it unset for no timeout)`);
  return { ms };
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
};

/**
 * Parses a memory size into bytes, for `--min-free-mem`. A bare number is bytes; the
 * suffixes `k`, `M`, `G`, `T` (any case, optionally followed by `B` or `iB`) are
 * powers of 1024, so `512M`, `512MB` and `512MiB` are all 536870912 bytes.
 */
export function parseSize(v: string | number, what = 'size'): number {
  const text = String(v).trim();
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(i?b)?$/i.exec(text);
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined || (m[3] !== undefined && m[2] === '' && m[3].length > 1)) {
    throw new Error(
      `${label(what)}invalid size ${JSON.stringify(v)} (use e.g. 512M, 2G, 100k, or bytes)`,
    );
  }
  return Math.round(Number(m[1]) * unit);
}

/** A share from 0 to 100: `20%`, `"20"` or `20` (`alerts.failure_rate.above`, `--alert-failure-rate`). */
export function parsePercent(v: string | number, what: string): number {
  const n = typeof v === 'number' ? v : /^\s*\d+(\.\d+)?\s*%?\s*$/.test(v) ? parseFloat(v) : NaN;
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new Error(
      `${label(what)}expected a percentage from 0 to 100, e.g. 20%, got ${JSON.stringify(v)}`,
    );
  return n;
}
