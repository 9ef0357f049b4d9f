import type { JobSpec } from '../model/job.js';

/** The program an attempt runs and its argv (argv[0] included), before any PATH lookup. */
export interface CommandLine {
  file: string;
  /** Arguments after argv[0]. */
  args: string[];
}

/**
 * What to execute for `job`: today always `job.shell -c job.command`. Both executors
 * start jobs through this one function, so a job that carries its own argv (direct
 * exec, no shell) only needs a branch here.
 */
export function commandLine(job: JobSpec): CommandLine {
  return { file: job.shell, args: ['-c', job.command] };
}
