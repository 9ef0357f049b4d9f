import fs from 'node:fs';
import path from 'node:path';

/**
 * Checks that a job's shell and working folder exist, so a typo is a manifest
 * error with its line (exit 2, nothing ran) rather than a failure of every job.
 * Answers are cached: a 100,000-job manifest has a handful of distinct values.
 */
export class PlaceChecks {
  private readonly shells = new Map<string, string | undefined>();
  private readonly dirs = new Map<string, string | undefined>();

  /** Why `shell` cannot run jobs, or undefined when it can. */
  shell(shell: string): string | undefined {
    if (!this.shells.has(shell)) this.shells.set(shell, shellProblem(shell));
    return this.shells.get(shell);
  }

  /** Why `dir` cannot be a job's working folder, or undefined when it can. */
  cwd(dir: string): string | undefined {
    if (!this.dirs.has(dir)) this.dirs.set(dir, dirProblem(dir));
    return this.dirs.get(dir);
  }
}

export function shellProblem(shell: string): string | undefined {
  if (shell === '') return 'the shell is empty';
  const candidates = shell.includes('/')
    ? [shell]
    : (process.env.PATH ?? '').split(':').map((dir) => path.join(dir || '.', shell));
  for (const file of candidates) {
    try {
      if (!fs.statSync(file).isFile()) continue;
      fs.accessSync(file, fs.constants.X_OK);
      return undefined;
    } catch {
      // not this one
    }
  }
  if (!shell.includes('/')) return `shell ${shell} is not found on PATH`;
  if (!fs.existsSync(shell)) return `shell ${shell} does not exist`;
  return `shell ${shell} is not an executable file`;
}

function dirProblem(dir: string): string | undefined {
  try {
    if (!fs.statSync(dir).isDirectory()) return `cwd ${dir} is not a folder`;
    return undefined;
  } catch {
    return `cwd ${dir} does not exist`;
  }
}
