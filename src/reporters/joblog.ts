import fs from 'node:fs';
import os from 'node:os';
import { constants } from 'node:os';
import type { RunEvent } from '../model/events.js';
import { renameTarget, tempPathFor, trackTemp, untrackTemp } from './atomic.js';
import type { Reporter } from './types.js';

const HEADER = 'Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n';

/**
 * `--joblog FILE`: GNU parallel's tab-separated job log, one line per job that ran,
 * written as it ends, so scripts that read parallel's joblog keep working.
 * Exitval is -1 when the job was killed by a signal; Signal is the signal's number.
 * Lines go to a temporary file next to FILE, renamed to FILE when the run ends, so
 * FILE is always a whole log of one run (`tail -f` the `.FILE.<pid>.tmp` meanwhile).
 */
export class JoblogReporter implements Reporter {
  private readonly fd: number;
  /** Undefined when FILE is not a regular file (`/dev/stdout`): written in place. */
  private readonly temp: string | undefined;
  private readonly host = os.hostname();
  private closed = false;
  /** The first write error (a full disk): reported when the run ends, the run goes on. */
  private error: Error | undefined;

  constructor(private readonly file: string) {
    const target = renameTarget(file);
    this.temp = target === undefined ? undefined : tempPathFor(target);
    this.fd = fs.openSync(this.temp ?? file, 'w');
    if (this.temp !== undefined) trackTemp(this.temp);
    this.write(HEADER);
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
    this.write(fields.join('\t') + '\n');
  }

  private write(text: string): void {
    if (this.error !== undefined) return;
    try {
      fs.writeSync(this.fd, text);
    } catch (err) {
      this.error = err as Error;
    }
  }

  async onRunEnd(): Promise<void> {
    this.close();
    try {
      if (this.error !== undefined) throw this.error;
      if (this.temp !== undefined) await fs.promises.rename(this.temp, this.file);
    } catch (err) {
      throw new Error(`cannot write ${this.file}: ${(err as Error).message}`, { cause: err });
    } finally {
      this.dispose();
    }
  }

  /** On every exit path: a log not renamed by now is not a whole run's, so it goes. */
  dispose(): void {
    this.close();
    if (this.temp === undefined) return;
    fs.rmSync(this.temp, { force: true });
    untrackTemp(this.temp);
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}
