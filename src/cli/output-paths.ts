import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Checks up front that every file the run writes at its end can be written, so a
 * mistyped path is a usage error before any job runs rather than a failure after
 * all of them. Missing folders are created, as they would be at the end anyway.
 */
export function checkOutputFiles(files: Record<string, string | undefined>): void {
  for (const [flag, file] of Object.entries(files)) {
    if (file === undefined) continue;
    try {
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      fs.closeSync(fs.openSync(file, 'a'));
    } catch (err) {
      throw new UsageError(`${flag} ${file}: cannot write there (${reason(err)})`);
    }
  }
}

/** Creates the folder for job logs, or explains why it cannot. */
export function makeLogDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`--logs ${dir}: cannot create the folder (${reason(err)})`);
  }
}

/** Creates the `--results` folder up front, so a bad path fails before any job runs. */
export function makeResultsDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`--results ${dir}: cannot create the folder (${reason(err)})`);
  }
}

function reason(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}
