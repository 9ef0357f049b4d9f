import { accessSync, constants, statSync } from 'node:fs';
import type { JobSpec } from '../model/job.js';

/**
 * A clear, one-line reason why a job's shell (or program) could not be started. Node
 * reports a missing working directory as `spawn /bin/sh ENOENT`, blaming the shell, so
 * the directory is checked first, only once spawning has failed (keeping the success
 * path free of extra system calls). A program or shell that is not there or cannot be
 * executed gets the exit code a shell (and xargs) gives it, 127 or 126: another attempt
 * would end the same way, so it is not retried (see `worthRetrying`).
 */
export function describeSpawnError(
  job: JobSpec,
  err: unknown,
): { error: string; exitCode?: 126 | 127 } {
  const cwdProblem = checkDirectory(job.cwd);
  if (cwdProblem !== undefined) return { error: cwdProblem };
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const what = job.argv?.[0] !== undefined ? `program ${job.argv[0]}` : `shell ${job.shell}`;
  if (code === 'ENOENT') return { error: `${what} not found`, exitCode: 127 };
  if (code === 'EACCES')
    return { error: `${what} cannot be executed (permission denied)`, exitCode: 126 };
  const message = err instanceof Error ? err.message : String(err);
  return { error: `could not start ${what}: ${message}` };
}

function checkDirectory(dir: string): string | undefined {
  try {
    if (!statSync(dir).isDirectory()) return `working directory ${dir} is not a directory`;
    accessSync(dir, constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return `working directory ${dir} does not exist`;
    return `working directory ${dir} cannot be entered (${code ?? 'error'})`;
  }
}
