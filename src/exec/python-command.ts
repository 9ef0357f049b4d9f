import { accessSync, closeSync, constants, openSync, readSync } from 'node:fs';
import { delimiter, join } from 'node:path';

let found: string | undefined;

/**
 * The interpreter that runs the spawner: `JOBRUN_PYTHON`, else the first `python3` on
 * PATH that is not a script. Version-manager shims (pyenv's is a bash script that runs
 * `pyenv exec`) take half a second of CPU to start, more than a thousand small jobs;
 * any Python ≥ 3.8 will do for the spawner, so a real interpreter further down PATH
 * is better. When every `python3` is a script, the first one is used.
 */
export function pythonCommand(): string {
  const forced = process.env.JOBRUN_PYTHON;
  if (forced) return forced;
  found ??= findPython(process.env.PATH ?? '');
  return found;
}

function findPython(searchPath: string): string {
  let first: string | undefined;
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'python3');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    first ??= candidate;
    if (!isScript(candidate)) return candidate;
  }
  return first ?? 'python3';
}

function isScript(path: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
