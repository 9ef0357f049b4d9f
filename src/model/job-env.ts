/**
 * The variables that tell a job who it is, the same under every executor and on Redis
 * workers: the run's id, the job's id (`jobId`) and name, and per attempt its number
 * (1, 2, …) and slot (1..N, reused as slots free, like GNU parallel's `{%}`); on Redis
 * also the worker's label.
 */
import { jobId, type JobSpec } from './job.js';

/** What a job is: the same for all of its attempts. */
export function jobVariables(
  job: Pick<JobSpec, 'name' | 'index'>,
  runId: string,
): Record<string, string> {
  return { JOBRUN_RUN_ID: runId, JOBRUN_JOB_ID: jobId(job), JOBRUN_JOB_NAME: job.name };
}

/** Where and which attempt runs; `slot` counts from 1. */
export function attemptVariables(
  attempt: number,
  slot: number,
  worker?: string,
): Record<string, string> {
  const vars: Record<string, string> = {
    JOBRUN_ATTEMPT: String(attempt),
    JOBRUN_SLOT: String(slot),
  };
  if (worker !== undefined) vars.JOBRUN_WORKER = worker;
  return vars;
}
