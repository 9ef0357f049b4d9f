import { once } from 'node:events';
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ask } from '../../control/client.js';
import { diedListed, liveRuns, requireRun, type RunEntry } from '../../control/registry.js';
import type { JobLog } from '../../control/run-state.js';
import { ControlError, UsageError } from '../../errors.js';
import { outputWriteError } from '../shutdown.js';

/** How often `logs -f` looks for more output and asks whether the job still runs. */
const FOLLOW_MS = 250;

/**
 * `jobrun logs [RUN] JOB [-f]`: the output of the job's latest attempt so far (its
 * log file, read here: the run only says where it is); with `-f`, then what it
 * writes until it ends, a retry's attempt after the last.
 */
export async function logsCommand(args: string[], follow: boolean): Promise<number> {
  const runs = liveRuns();
  const [runArg, job] = args.length >= 2 ? [args[0], args[1]] : [undefined, args[0]];
  if (job === undefined || args.length > 2)
    throw new UsageError('usage: jobrun logs [RUN] JOB [-f]');
  const run = requireRun(runArg, runs);
  let file: string | undefined;
  let offset = 0;
  /** Set while the job waits: `file` is the log it will write, if newer than this. */
  let writtenSince: number | undefined;
  /** The run answered once: a run that stops answering now ended (or was killed). */
  let answered = false;
  for (;;) {
    const log = await where(run, job, follow && answered);
    if (log === 'ended' || log === 'killed') {
      // whatever it wrote last; a job that started and ended between two looks, too
      if (file !== undefined) await copy(file, offset, writtenSince);
      if (log === 'ended') return 0;
      const when =
        writtenSince === undefined ? `while ${job} ran` : `before ${job} was seen to end`;
      throw new ControlError(
        `run ${run.runId} (pid ${run.pid}) went away ${when} (killed?): its output may stop short`,
      );
    }
    answered = true;
    if (log.state === 'unknown')
      throw new UsageError(`run ${run.runId} has no job "${job}" waiting or started`);
    if (log.endedAs !== undefined) {
      // it exists, it only never ran here: no output to show, and nothing to follow
      process.stderr.write(`jobrun: ${job} ended ${log.endedAs} without starting: no output\n`);
      return 0;
    }
    if (log.path !== file) {
      file = log.path;
      offset = 0;
    }
    writtenSince = log.writtenSince;
    if (log.state !== 'waiting' && file !== undefined) offset = await copy(file, offset);
    if (outputWriteError() !== undefined) return 1; // stdout failed: nothing more to follow
    if (!follow) {
      if (log.state === 'waiting') process.stderr.write(`jobrun: ${job} has not started yet\n`);
      return 0;
    }
    if (log.state === 'ended') return 0;
    await sleep(FOLLOW_MS);
  }
}

/**
 * Where the job's log is; `ended` when the run ended while following, `killed` when it
 * went away without ending (the job's output may stop mid-way).
 */
async function where(
  run: RunEntry,
  job: string,
  following: boolean,
): Promise<JobLog | 'ended' | 'killed'> {
  try {
    return (await ask(run, { verb: 'logs', job })).log as JobLog;
  } catch (err) {
    if (!following || !(err instanceof ControlError)) throw err;
    return diedListed(run) ? 'killed' : 'ended';
  }
}

/**
 * Writes `file` from `offset` to stdout as bytes (a job's output need not be UTF-8),
 * through the guarded stream, with backpressure: a reader gone (`logs -f | head -1`)
 * ends jobrun with 141, a full disk is exit 1 (`installProcessGuards`). Either stops
 * the copy; a write(2) of its own would throw EPIPE (or EAGAIN on a full pipe). With
 * `writtenSince`, a file last written before then is left unread.
 */
async function copy(file: string, offset: number, writtenSince?: number): Promise<number> {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return offset; // not created yet
  }
  if (writtenSince !== undefined && fs.fstatSync(fd).mtimeMs < writtenSince) {
    fs.closeSync(fd);
    return offset; // an earlier run's: the job never wrote it in this one
  }
  const out = process.stdout;
  try {
    while (outputWriteError() === undefined) {
      const buffer = Buffer.allocUnsafe(1 << 16); // a new one: a queued write holds it
      const n = fs.readSync(fd, buffer, 0, buffer.length, offset);
      if (n === 0) break;
      offset += n;
      // a failed write returns false too; its 'error' (seen by the guards first) ends the wait
      if (!out.write(buffer.subarray(0, n))) await once(out, 'drain').catch(() => {});
    }
    return offset;
  } finally {
    fs.closeSync(fd);
  }
}
