import os from 'node:os';
import { UsageError } from '../errors.js';
import type { WorkersSpec } from '../model/job.js';
import { SPAWNER_CHOICES, type SpawnerChoice } from '../exec/choose-executor.js';

/** The most jobs one jobrun runs at once: far beyond what one machine's process table serves well. */
export const MAX_WORKERS = 10_000;

/** `-j 4` or `-j 2:8` (a pool that scales between 2 and 8 with queue depth). */
export function parseWorkers(text: string): WorkersSpec {
  const m = /^(\d+)(?::(\d+))?$/.exec(text.trim());
  const min = m ? Number(m[1]) : NaN;
  const max = m?.[2] !== undefined ? Number(m[2]) : min;
  if (!m || min < 1 || max < min) {
    throw new UsageError(
      `-j "${text}" is not a worker count: use a number like 4, or min:max like 2:8`,
    );
  }
  if (max > MAX_WORKERS) {
    throw new UsageError(
      `-j "${text}": at most ${MAX_WORKERS} workers (each runs a process group at once)`,
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
 * `--spawner`, else `JOBRUN_SPAWNER`, else `auto`: how jobs are started (the Python
 * spawner, `node:child_process`, or the spawner with an automatic fallback).
 */
export function parseSpawner(flag: string | undefined): SpawnerChoice {
  const fromEnv = process.env.JOBRUN_SPAWNER;
  const text = flag ?? (fromEnv === '' ? undefined : fromEnv) ?? 'auto';
  const source = flag !== undefined ? '--spawner' : 'JOBRUN_SPAWNER';
  return oneOf(text, source, SPAWNER_CHOICES);
}
