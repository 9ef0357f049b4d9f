import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { Report, ReportJob } from '../reporters/report.js';
import type { JobSpec } from '../model/job.js';
import type { Plan } from '../model/job.js';
import { runJobs } from './run.js';
import type { RunFlags } from './run.js';

/** The statuses a re-drive picks up: failed for good, or never ran because a need failed. */
const REDRIVE = new Set(['failed', 'timed_out', 'skipped']);

/**
 * `jobrun retry report.json`: the dead-letter re-drive. Re-runs the jobs that
 * failed, timed out, or were skipped because a need failed, with their settings
 * from the manifest when it is still there (else from the report). Needs that
 * succeeded in the earlier run count as met.
 */
export async function retryCommand(reportPath: string, flags: RunFlags): Promise<number> {
  const report = readReport(reportPath);
  const wanted = report.jobs.filter((j) => REDRIVE.has(j.status) && !j.excluded);
  if (wanted.length === 0) {
    process.stderr.write(`jobrun: nothing to retry: every job in ${reportPath} succeeded\n`);
    return 0;
  }
  const names = new Set(wanted.map((j) => j.name));
  let jobs: JobSpec[];
  let settings: Plan | undefined;
  if (report.manifest && report.manifest !== '-' && fs.existsSync(report.manifest)) {
    const { loadManifest } = await import('../manifest/load.js');
    settings = await loadManifest(report.manifest);
    jobs = settings.jobs.filter((j) => names.has(j.name));
  } else {
    jobs = wanted.map((j, index) => fromReport(j, index));
  }
  const picked = new Set(jobs.map((j) => j.name));
  jobs = jobs.map((job, index) => ({
    ...job,
    index,
    needs: job.needs.filter((n) => picked.has(n)),
  }));
  const identity = `retry:${path.resolve(reportPath)}`;
  return runJobs(
    {
      settings: settings ?? { manifestPath: report.manifest, pools: {}, order: 'fifo' },
      jobs,
      identity,
    },
    flags,
  );
}

function readReport(file: string): Report {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `cannot read report ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  let report: Report;
  try {
    report = JSON.parse(text) as Report;
  } catch {
    throw new UsageError(`${file} is not a jobrun report (not JSON)`);
  }
  if (report?.version !== 1 || !Array.isArray(report.jobs)) {
    throw new UsageError(`${file} is not a jobrun report (no "version": 1 and "jobs" list)`);
  }
  return report;
}

function fromReport(job: ReportJob, index: number): JobSpec {
  return {
    name: job.name,
    command: job.command,
    index,
    priority: job.priority ?? 0,
    pool: undefined,
    needs: job.needs ?? [],
    killGraceMs: 5000,
    retries: 0,
    backoff: { delayMs: 1000, factor: 2, maxMs: 60_000, jitter: true },
    shell: '/bin/sh',
    cwd: job.cwd && fs.existsSync(job.cwd) ? job.cwd : process.cwd(),
    env: {},
    allowFailure: job.allowFailure ?? false,
  };
}
