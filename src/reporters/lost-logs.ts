import { dirname } from 'node:path';
import type { JobRecord, RunEvent } from '../model/events.js';
import { clean } from './text.js';

/**
 * The run's end when the logs of jobs that printed something were removed before their
 * output could be shown: output not all shown, so the run does not exit 0.
 */
export class OutputLostError extends Error {}

/**
 * Jobs that printed something (an attempt with a log: its size was known above 0 as it
 * ended) whose files were gone when a reporter came to read them: the log folder was
 * deleted meanwhile. Shared by the reporters that read logs (grouped output,
 * `--results`), so each job is said once, with `say`; `error()` then ends the run.
 * Once told the run's log folder (`onRunStart`, by the output reporter, which may
 * read a remote worker's log), only files there count: a remote worker's log is not
 * this run's to miss.
 */
export class LostLogs {
  private logDir: string | undefined;
  /** The names of jobs whose output was lost, by id. */
  private readonly names = new Map<string, string>();

  constructor(
    private readonly say: (line: string) => void,
    private readonly terminal = false,
  ) {}

  onRunStart(e: RunEvent<'run_start'>): void {
    this.logDir = e.logDir;
  }

  /** `job`'s output, last in `file`, was lost (`file` and any other it had were gone). */
  lost(job: JobRecord, file: string): void {
    if (this.logDir !== undefined && dirname(file) !== this.logDir) return;
    if (this.names.has(job.id)) return;
    const name = this.terminal ? clean(job.name) : job.name;
    this.names.set(job.id, name);
    this.say(`jobrun: the log of ${name} was removed before its output could be shown`);
  }

  /** The error that ends a run that lost output, if it did. */
  error(): OutputLostError | undefined {
    const n = this.names.size;
    if (n === 0) return undefined;
    const what =
      n === 1
        ? `the log of ${[...this.names.values()][0]} was removed before its output`
        : `the logs of ${n} jobs were removed before their output`;
    return new OutputLostError(`${what} could be shown`);
  }
}
