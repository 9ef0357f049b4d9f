import os from 'node:os';
import { UsageError } from '../errors.js';
import type { BackoffSpec, WorkersSpec } from '../model/job.js';
import { parseDuration } from '../manifest/duration.js';
import { SPAWNER_CHOICES, type SpawnerChoice } from '../exec/choose-executor.js';

/** What `-j 0` means: as many as possible, within a cap that keeps the machine usable. */
export const MAX_WORKERS = 256;

/** The most jobs one jobrun runs at once when asked by number: far beyond what one machine's process table serves well. */
const WORKER_CAP = 10_000;

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
    throw new UsageError(
      `-j "${text}" is not a worker count: use a number like 4, 50%, +1, -1, 0, or min:max like 2:8`,
    );
  }
  if (max > WORKER_CAP) {
    throw new UsageError(
      `-j "${text}": at most ${WORKER_CAP} workers (each runs a process group at once)`,
    );
  }
  return { min, max };
}

export function defaultWorkers(): WorkersSpec {
  const n = os.availableParallelism();
  return { min: n, max: n };
}

export function parseCount(text: string, flag: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n)) {
    throw new UsageError(`${flag} "${text}" must be a whole number, e.g. ${flag} 3`);
  }
  return n;
}

export function parsePositive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} "${text}" must be a positive number`);
  return n;
}

export function oneOf<T extends string>(text: string, flag: string, values: readonly T[]): T {
  if ((values as readonly string[]).includes(text)) return text as T;
  throw new UsageError(`${flag} "${text}" must be one of: ${values.join(', ')}`);
}

/** A run id that sorts by time and is unique enough to name a log folder. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${Math.random().toString(36).slice(2, 6)}`;
}

/**
 * `--backoff 1s,2,1m`: delay, then optionally factor and max, as the manifest's
 * `backoff` (jitter stays on, as there).
 */
export function parseBackoff(text: string): BackoffSpec {
  const [delay, factor, max, extra] = text.split(',').map((p) => p.trim());
  if (extra !== undefined || !delay) {
    throw new UsageError(`--backoff "${text}" must be delay[,factor[,max]], e.g. 1s,2,1m`);
  }
  const f = factor === undefined || factor === '' ? 2 : Number(factor);
  if (!Number.isFinite(f) || f < 1) {
    throw new UsageError(`--backoff "${text}": the factor must be a number of at least 1`);
  }
  return {
    delayMs: parseDuration(delay, '--backoff delay'),
    factor: f,
    maxMs: max === undefined || max === '' ? 60_000 : parseDuration(max, '--backoff max'),
    jitter: true,
  };
}

/**
 * `--spawner`, else `JOBRUN_SPAWNER`, else `auto`: how jobs are started (the Python
 * spawner, `node:child_process`, or the spawner with an automatic fallback).
 */
export function parseSpawner(flag: string | undefined): SpawnerChoice {
  const fromEnv = process.env.JOBRUN_SPAWNER;
  const text = flag ?? (fromEnv === '' ? undefined : fromEnv) ?? 'auto';
  const source = flag !== undefined ? '--spawner' : 'JOBRUN_SPAWNER';
  return oneOf(text, source, SPAWNER_CHOICES);
}
