import path from 'node:path';
import { jobId } from '../model/job.js';

/**
 * Where one attempt's output goes: `<logDir>/<id>.log`, then `<id>.attempt-2.log` for
 * retries, where `<id>` is the job's `jobId` (`3-build.log`). The id starts with the
 * job's unique position, so no two jobs, and no job and another's retry, share a file.
 */
export function logPathFor(logDir: string, name: string, index: number, attempt: number): string {
  return logPathOf(logDir, jobId({ index, name }), attempt);
}

/** `logPathFor` from the job's id. */
export function logPathOf(logDir: string, id: string, attempt: number): string {
  const suffix = attempt === 1 ? '.log' : `.attempt-${attempt}.log`;
  return path.join(logDir, id + suffix);
}

/**
 * The files that keep one attempt's stdout and stderr apart, beside its log:
 * `<name>.stdout` / `<name>.stderr` (`.attempt-2.stdout` …).
 */
export function streamPathsFor(logPath: string): { stdoutPath: string; stderrPath: string } {
  const stem = logPath.replace(/\.log$/, '');
  return { stdoutPath: `${stem}.stdout`, stderrPath: `${stem}.stderr` };
}
