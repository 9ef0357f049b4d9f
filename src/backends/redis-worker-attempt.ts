import fs from 'node:fs';
import path from 'node:path';
import { UnrecoverableError, type Job } from 'bullmq';
import { attemptSucceeded, worthRetrying, type AttemptResult } from '../model/attempt.js';
import { attemptEnding } from '../model/outcome.js';
import { attemptVariables } from '../model/job-env.js';
import { backoffDelay } from '../core/backoff.js';
import { logPathFor, streamPathsFor } from '../core/log-path.js';
import type { Executor, OutputStream } from '../exec/types.js';
import type { WorkerMetrics } from './metrics.js';
import { specFromPayload, type JobPayload, type WorkerMessage } from './payload.js';
import { describe } from './redis-connect.js';
import type { OutputWriter } from './redis-output.js';
import type { RedisTarget } from './redis-url.js';
import type { WorkerJobs } from './redis-worker-jobs.js';
import { sendStreams } from './redis-worker-streams.js';
import type { CacheLookup } from './worker-cache.js';

/** The failure of one attempt, carrying the backoff the worker chose for the retry. */
export class AttemptFailed extends Error {
  constructor(
    message: string,
    readonly retryInMs: number,
  ) {
    super(message);
    this.name = 'AttemptFailed';
  }
}

export interface AttemptRunnerOptions {
  executor: Executor;
  /** `host:pid`; the slot number is appended per attempt. */
  label: string;
  logRoot: string;
  baseDir: string;
  target: RedisTarget;
  jobs: WorkerJobs;
  /** Where output lines go for jobs that stream theirs back. */
  output: OutputWriter;
  metrics?: WorkerMetrics;
  log: (line: string) => void;
}

/**
 * Runs one admitted attempt with the local executor and tells the coordinator about it
 * (`start`, `end` progress messages). Settles as BullMQ expects: returns the result on
 * success, throws `AttemptFailed` for a retry (with its backoff) and
 * `UnrecoverableError` when no retry may follow.
 */
export class AttemptRunner {
  constructor(private readonly o: AttemptRunnerOptions) {}

  async run(
    job: Job,
    id: string,
    p: JobPayload,
    slot: number,
    lookup?: CacheLookup,
  ): Promise<AttemptResult> {
    const { jobs, metrics } = this.o;
    const pool = p.pool ?? 'default';
    const payloadSpec = specFromPayload(p, this.o.baseDir);
    const attempt = Math.max(1, job.attemptsStarted);
    const env = { ...payloadSpec.env, ...attemptVariables(attempt, slot + 1, this.o.label) };
    const spec = { ...payloadSpec, env };
    const worker = `${this.o.label}/${slot + 1}`;
    const logDir = logDirFor(this.o.logRoot, p.runKey);
    fs.mkdirSync(logDir, { recursive: true });
    const startedAt = Date.now();
    const output = p.output || p.streams ? this.o.output : undefined;
    const sendLine = output
      ? (stream: OutputStream, line: string, newline: boolean) =>
          output.line(p.runKey, id, worker, attempt, stream, line, newline)
      : undefined;
    const logPath = logPathFor(logDir, p.name, p.index, attempt);
    // streams wanted after the end only: to files, so no pipe of ours holds the job
    const separate = p.streams && !p.output ? streamPathsFor(logPath) : undefined;
    const handle = this.o.executor.start({
      job: spec,
      attempt,
      timeoutMs: p.timeoutMs,
      logPath,
      worker,
      onLine: separate ? undefined : sendLine,
      // the job's pipes wait while the coordinator has too many of the run's lines to read
      backpressure: separate ? undefined : output?.pressure(p.runKey),
      separate,
    });
    const entry = { handle, cancelled: false, lockLost: false };
    jobs.running.set(id, entry);
    metrics?.attemptStarted(pool);
    await handle.started; // a spawner process tells the pid a moment later
    const why = lookup?.why ? { why: lookup.why } : {};
    await this.report(job, { kind: 'start', attempt, worker, pid: handle.pid, startedAt, ...why });
    // after the report: once this line shows, the coordinator has been told
    this.o.log(`start ${p.name} (attempt ${attempt}) on ${worker}`);
    const result = await handle.result;
    // no paths in the result: the job printed nothing, so there is nothing to send
    if (separate && output && sendLine && (result.stdoutPath || result.stderrPath)) {
      await sendStreams(separate, {
        line: sendLine,
        flush: () => output.flush().then(() => output.room(p.runKey)),
        // stopped by the coordinator (its reader left, Ctrl-C): it waits for the end only
        stopped: () => entry.cancelled || entry.lockLost || jobs.abandoned,
      });
      // they named files on this worker, now removed: the coordinator names its own
      delete result.stdoutPath;
      delete result.stderrPath;
    }
    await output?.flush();
    // never settle: the lock lapses and another worker gets the job
    if (jobs.abandoned) return await new Promise<never>(() => {});
    metrics?.attemptEnded(pool, result);
    this.o.log(`end ${p.name}: ${attemptEnding(result).text} in ${result.durationMs}ms`);
    if (entry.lockLost) {
      // the job may belong to another worker now: report nothing on it
      metrics?.attemptLockLost(pool);
      throw new Error(`${p.name}: stopped, this worker lost the job's lock`);
    }
    if (entry.cancelled) {
      await this.report(job, { kind: 'end', result });
      throw new UnrecoverableError('stopped at the coordinator’s request');
    }
    if (attemptSucceeded(result)) return lookup ? await lookup.stored(result) : result;
    const retries = worthRetrying(result) && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    const retryInMs = retries ? backoffDelay(p.backoff, job.attemptsMade + 2) : undefined;
    await this.report(job, { kind: 'end', result, retryInMs });
    // a command that cannot run (126/127) ends the job whatever attempts are left
    if (!worthRetrying(result))
      throw new UnrecoverableError(`${p.name}: ${attemptEnding(result).text}`);
    throw new AttemptFailed(`${p.name}: ${attemptEnding(result).text}`, retryInMs ?? 0);
  }

  /** Progress is how attempts reach the coordinator; losing one must not fail the job. */
  async report(job: Job, message: WorkerMessage): Promise<void> {
    try {
      await job.updateProgress(message);
    } catch (err) {
      this.o.log(`cannot report on ${job.id ?? '?'}: ${describe(err, this.o.target)}`);
    }
  }
}

/**
 * A run's log folder on this worker: `<logRoot>/<runKey>`. The payload's run key is
 * validated to be one plain folder name; this checks once more that nothing a payload
 * says can place a file outside `logRoot`.
 */
export function logDirFor(logRoot: string, runKey: string): string {
  const root = path.resolve(logRoot);
  const dir = path.resolve(root, runKey);
  if (path.dirname(dir) !== root) throw new UnrecoverableError(`bad run key "${runKey}"`);
  return dir;
}
