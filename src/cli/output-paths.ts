import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

/**
 * Checks up front that every file the run writes at its end can be written, so a
 * mistyped path is a usage error before any job runs rather than a failure after
 * all of them. Nothing is created here: a report file appears only when it is
 * complete (see `writeFileAtomic`), and its folder must already exist; jobrun makes
 * no folder the user did not ask for (`--report /typo/r.json` is an error, not a
 * new `/typo`).
 */
export function checkOutputFiles(files: Record<string, string | undefined>): void {
  for (const [flag, file] of Object.entries(files)) {
    if (file === undefined) continue;
    const problem = outputProblem(path.resolve(file));
    if (problem !== undefined)
      throw new UsageError(`${flag} ${file}: cannot write there: ${problem}`);
  }
}

/** Why `file` could not be written as a report, or undefined when it can. */
function outputProblem(file: string): string | undefined {
  if (file.endsWith(path.sep)) return 'it is a folder, not a file';
  const dir = path.dirname(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (err) {
    return `folder ${dir} ${code(err) === 'ENOENT' ? 'does not exist (jobrun makes no folder for reports)' : `cannot be read (${code(err)})`}`;
  }
  if (!stat.isDirectory()) return `${dir} is not a folder`;
  try {
    const target = fs.statSync(file);
    if (target.isDirectory()) return 'it is a folder, not a file';
    fs.accessSync(file, fs.constants.W_OK);
    // a regular file is replaced by renaming a temporary file over it: the folder must be writable
    if (target.isFile()) fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    if (code(err) !== 'ENOENT') return code(err);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (e) {
      return code(e);
    }
  }
  return undefined;
}

/**
 * Creates the folder for job logs, or explains why it cannot. A folder the user
 * named (`--logs DIR`) is made, but not its parents: a typo must not grow a tree.
 */
export function makeLogDir(dir: string, parents: boolean): void {
  try {
    if (!parents && fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return;
    fs.mkdirSync(dir, { recursive: parents });
  } catch (err) {
    throw new UsageError(`--logs ${dir}: cannot create the folder (${code(err)})`);
  }
}

/** Creates the `--results` folder up front, so a bad path fails before any job runs. */
export function makeResultsDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new UsageError(`--results ${dir}: cannot create the folder (${code(err)})`);
  }
}

function code(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}
