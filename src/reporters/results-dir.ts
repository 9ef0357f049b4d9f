import fs from 'node:fs';
import path from 'node:path';
import type { JobRecord, RunEvent } from '../model/events.js';
import { jobId } from '../model/job.js';
import type { LostLogs } from './lost-logs.js';
import { reportJob } from './report.js';
import type { Reporter } from './types.js';

/**
 * `--results DIR`, like GNU parallel's `--results`: each job gets a folder
 * `DIR/<id>/` (its `jobId`, as for log files: `2-b_c`) holding `stdout` and
 * `stderr` (its last attempt's streams, each on its own, copied from the per-stream
 * files the executor keeps) and `meta.json` (the job's record as in the report,
 * with its captured `result`). Written as each job ends, one job at a time, so a
 * long streamed run holds nothing in memory for it.
 */
export class ResultsDirReporter implements Reporter {
  readonly needsStreams = true;
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  constructor(
    private readonly dir: string,
    private readonly lostLogs?: LostLogs,
  ) {}

  /** The run's log folder: a remote worker's log elsewhere is not this run's to miss. */
  onRunStart(e: RunEvent<'run_start'>): void {
    this.lostLogs?.onRunStart(e);
  }

  onJobEnd(e: RunEvent<'job_end'>): void {
    const job = e.job;
    this.chain = this.chain.then(() =>
      this.write(job).catch((err: unknown) => {
        this.failure ??= err as Error;
      }),
    );
  }

  async onRunEnd(): Promise<void> {
    await this.chain;
    if (this.failure) throw new Error(`--results ${this.dir}: ${this.failure.message}`);
    const lost = this.lostLogs?.error();
    if (lost !== undefined) throw lost;
  }

  private async write(job: JobRecord): Promise<void> {
    const folder = path.join(this.dir, jobId(job));
    await fs.promises.mkdir(folder, { recursive: true });
    const last = job.attempts.at(-1);
    const stdout = await copyOrEmpty(last?.stdoutPath, path.join(folder, 'stdout'));
    const stderr = await copyOrEmpty(last?.stderrPath, path.join(folder, 'stderr'));
    // it printed something (it has a log), so one of its stream files at least was there
    if (last?.logPath !== undefined && !stdout && !stderr)
      this.lostLogs?.lost(job, last.stdoutPath ?? last.logPath);
    const meta = JSON.stringify(reportJob(job), null, 2) + '\n';
    await fs.promises.writeFile(path.join(folder, 'meta.json'), meta);
  }
}

/**
 * An attempt that printed nothing (or never ran) has no stream file: an empty one then.
 * False when there was no file to copy.
 */
async function copyOrEmpty(from: string | undefined, to: string): Promise<boolean> {
  if (from !== undefined) {
    try {
      await fs.promises.copyFile(from, to);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  await fs.promises.writeFile(to, '');
  return false;
}
