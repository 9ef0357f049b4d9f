import fs from 'node:fs';
import os from 'node:os';
import { constants } from 'node:os';
import type { RunEvent } from '../model/events.js';
import type { Reporter } from './types.js';

const HEADER = 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n';

/**
 * `--joblog FILE`: GNU parallel's tab-separated job log, one line per job that ran,
 * written as it ends, so scripts that read parallel's joblog keep working.
 * Exitval is -1 when the job was killed by a signal; Signal is the signal's number.
 */
export class JoblogReporter implements Reporter {
  private readonly fd: number;
  private readonly host = os.hostname();

  constructor(file: string) {
    this.fd = fs.openSync(file, 'w');
    fs.writeSync(this.fd, HEADER);
  }

  onJobEnd(e: RunEvent<'job_end'>): void {
    const job = e.job;
    const last = job.attempts.at(-1);
    if (!last) return;
    const signal = last.signal ? (constants.signals[last.signal as NodeJS.Signals] ?? 0) : 0;
    const fields = [
      job.index + 1,
      last.worker && last.worker.includes(':') ? last.worker.split(':')[0] : this.host,
      (last.startedAt / 1000).toFixed(3),
      (last.durationMs / 1000).toFixed(3),
      0,
      0,
      last.exitCode ?? -1,
      signal,
      job.command.replace(/[\t\n]/g, ' '),
    ];
    fs.writeSync(this.fd, fields.join('\t') + '\n');
  }

  dispose(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
