import { accessSync, constants, statSync } from 'node:fs';
import type { JobSpec } from '../model/job.js';

/**
 * A clear, one-line reason why a job's shell could not be started. Node reports
 * a missing working directory as `spawn /bin/sh ENOENT`, blaming the shell, so
 * the directory is checked first, only once spawning has failed (keeping the
 * success path free of extra system calls).
 */
export function describeSpawnError(job: JobSpec, err: unknown): string {
  const cwdProblem = checkDirectory(job.cwd);
  if (cwdProblem !== undefined) return cwdProblem;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const program = job.argv?.[0];
  if (program !== undefined) {
    if (code === 'ENOENT') return `program ${program} not found`;
    if (code === 'EACCES') return `program ${program} cannot be executed (permission denied)`;
  }
  if (code === 'ENOENT') return `shell ${job.shell} not found`;
  if (code === 'EACCES') return `shell ${job.shell} cannot be executed (permission denied)`;
  const message = err instanceof Error ? err.message : String(err);
  return `could not start shell ${job.shell}: ${message}`;
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
