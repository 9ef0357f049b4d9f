/**
 * The value grammar of the flags: each parser turns one argv string into its typed
 * value, or throws commander's `InvalidArgumentError` with the reason and how to write
 * it. Commander puts the flag and the bad value in front ("option '--delay <duration>'
 * argument 'soon' is invalid."), so the reasons do not repeat them. Durations and sizes
 * share their grammar with the manifest (`manifest/duration.ts`).
 */
import os from 'node:os';
import { InvalidArgumentError } from 'commander';
import { parseHalt, type HaltPolicy } from '../../core/halt.js';
import { parseDuration, parseSize, parseTimeout } from '../../manifest/duration.js';
import { parseDelimiter } from '../../manifest/records.js';
import type { BackoffSpec, TimeoutSpec, WorkersSpec } from '../../model/job.js';

/** What `-j 0` means: as many as possible, within a cap that keeps the machine usable. */
export const MAX_WORKERS = 256;

/** The most jobs one jobrun runs at once when asked by number: far beyond what one machine's process table serves well. */
export const WORKER_CAP = 10_000;

/**
 * Runs a grammar that throws a plain `Error` (the manifest's), as an invalid argument.
 * Commander already says the value is invalid, so `invalid duration "x" (use e.g. …)`
 * reads `not a duration (use e.g. …)`.
 */
function grammar<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const message = (err as Error).message;
    const m = /^(.*: )?invalid (\w+) "[^"]*" (\(.*\))$/.exec(message);
    throw new InvalidArgumentError(m ? `${m[1] ?? ''}not a ${m[2]} ${m[3]}` : message);
  }
}

/**
 * `-j 4` or `-j 2:8` (a pool that scales between 2 and 8 with queue depth), and GNU
 * parallel's forms: `50%` of the CPUs (at least 1), `+1`/`-1` the CPUs plus or minus
 * some (at least 1), `0` as many as possible (`MAX_WORKERS`).
 */
export function parseWorkers(text: string, cpus = os.availableParallelism()): WorkersSpec {
  const t = text.trim();
  const relative = /^([+-])(\d+)$/.exec(t);
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(t);
  if (relative || percent) {
    const n = relative
      ? cpus + (relative[1] === '+' ? 1 : -1) * Number(relative[2])
      : Math.floor((cpus * Number(percent![1])) / 100);
    const count = Math.min(MAX_WORKERS, Math.max(1, n));
    return { min: count, max: count };
  }
  if (t === '0') return { min: MAX_WORKERS, max: MAX_WORKERS };
  const m = /^(\d+)(?::(\d+))?$/.exec(t);
  const min = m ? Number(m[1]) : NaN;
  const max = m?.[2] !== undefined ? Number(m[2]) : min;
  if (!m || min < 1 || max < min) {
    throw new InvalidArgumentError(
      'not a worker count: use a number like 4, 50%, +1, -1, 0, or min:max like 2:8',
    );
  }
  if (max > WORKER_CAP) {
    throw new InvalidArgumentError(
      `at most ${WORKER_CAP} workers (each runs a process group at once)`,
    );
  }
  return { min, max };
}

/** A whole number of at least `min` (`--retries 3`, `-n 2`, `--max-queue 500`). */
export function count(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      const range =
        max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`must be a whole number ${range}, e.g. ${Math.max(min, 3)}`);
    }
    return n;
  };
}

/** A number above zero (`--max-load 4.5`). */
export function positive(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new InvalidArgumentError('must be a positive number, e.g. 4 or 2.5');
  return n;
}

/** A duration in milliseconds of at least `minMs`: `500ms`, `30s`, `1m30s`, or seconds. */
export function duration(minMs = 0): (text: string) => number {
  return (text) => {
    const ms = grammar(() => parseDuration(text, ''));
    if (ms < minMs) throw new InvalidArgumentError(`must be at least ${minMs / 1000}s`);
    return ms;
  };
}

/** `--timeout 30s` or `--timeout 300%` (of the median run). */
export function timeout(text: string): TimeoutSpec {
  return grammar(() => parseTimeout(text, ''));
}

/** A size in bytes of at least 1: `512M`, `2G`, `64k`, or bytes. */
export function size(text: string): number {
  const bytes = grammar(() => parseSize(text, ''));
  if (bytes < 1) throw new InvalidArgumentError('must be at least 1 byte, e.g. 64k');
  return bytes;
}

/** A size in bytes, zero allowed (`--min-free-mem 0` closes no gate). */
export function sizeOrZero(text: string): number {
  return grammar(() => parseSize(text, ''));
}

/**
 * `--backoff 1s,2,1m`: delay, then optionally factor and max, as the manifest's
 * `backoff` (jitter stays on, as there).
 */
export function parseBackoff(text: string): BackoffSpec {
  const [delay, factor, max, extra] = text.split(',').map((p) => p.trim());
  if (extra !== undefined || !delay)
    throw new InvalidArgumentError('use delay[,factor[,max]], e.g. 1s,2,1m');
  const f = factor === undefined || factor === '' ? 2 : Number(factor);
  if (!Number.isFinite(f) || f < 1)
    throw new InvalidArgumentError('the factor must be a number of at least 1, e.g. 1s,2,1m');
  return {
    delayMs: grammar(() => parseDuration(delay, 'the delay')),
    factor: f,
    maxMs: max === undefined || max === '' ? 60_000 : grammar(() => parseDuration(max, 'the max')),
    jitter: true,
  };
}

/** `--halt soon,fail=3`, GNU parallel's policy. */
export function halt(text: string): HaltPolicy {
  try {
    return parseHalt(text);
  } catch {
    throw new InvalidArgumentError(
      'use now|soon[,fail=N|fail=N%|success=N|success=N%], e.g. --halt soon,fail=3',
    );
  }
}

/** `-d '\t'`: the bytes that end an input item, with `\n \t \r \0 \\ \xHH` escapes. */
export function delimiter(text: string): Buffer {
  const bytes = parseDelimiter(text);
  if (bytes.length === 0)
    throw new InvalidArgumentError("must not be empty, e.g. -d , or -d '\\t'");
  return bytes;
}

/** `--colsep '\t'`: a regular expression that splits a line into columns. */
export function regex(text: string): RegExp {
  try {
    return new RegExp(text);
  } catch (err) {
    throw new InvalidArgumentError(`not a regular expression: ${(err as Error).message}`);
  }
}

/** `--keep-logs` / `JOBRUN_KEEP_LOGS`: a number of runs (at least 1), or `all`. */
export function keepRuns(text: string): number | 'all' {
  const t = text.trim();
  if (t === 'all') return 'all';
  if (/^\d+$/.test(t) && Number(t) >= 1) return Number(t);
  throw new InvalidArgumentError('must be a number of runs (1 or more) or "all", e.g. 3');
}

/**
 * A value that must not be blank, `what` saying what it needs: `--logs ''` is a slip,
 * not a folder, `--glob ''` matches nothing, and `--metrics-host ''` would listen on
 * every interface.
 */
export function nonBlank(what: string): (text: string) => string {
  return (text) => {
    if (text.trim() === '') throw new InvalidArgumentError(`needs ${what}`);
    return text;
  };
}

/** A folder name that must not be blank. */
export const folder = nonBlank('a folder, e.g. --logs logs');

/** A repeatable flag whose values may also be comma-separated (`--only a,b --only c`). */
export function commaList(text: string, previous: readonly string[] = []): string[] {
  return [...previous, ...text.split(',')];
}
