import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { AttemptResult } from '../model/attempt.js';
import { GroupAttempt, openLog } from './attempt.js';
import { jobEnvironment } from './base-env.js';
import { textCommandLine } from './command-line.js';
import { PipeOutput } from './pipe-output.js';
import { procStat } from './proc.js';
import { stdinPathFor } from './stdin-file.js';
import { addStreamOutputs } from './stream-outputs.js';
import { needsPipes, type ExecRequest, type Executor } from './types.js';

/**
 * The executor that runs jobs as child processes of this one (`node:child_process`):
 * the fallback where the spawner cannot run, and the one for runs whose output is
 * piped through jobrun (`onLine`).
 *
 * - Each attempt is `job.shell -c job.command`, or `job.argv` run directly (see
 *   `command-line.ts`, which also carries raw bytes through), leading its own session
 *   and process group (`detached`), in `job.cwd`, with `job.env` over this process's
 *   environment and stdin on /dev/null (or the file of `job.stdin`).
 * - Without `onLine`, `separate` or `job.capture`, the log file's descriptor is
 *   the child's stdout and stderr: the runner never sees the bytes, so memory
 *   stays flat whatever the output, and stdout/stderr interleave in the file
 *   exactly as written. With any of them output is piped, copied to the log, and
 *   split into lines, copied per stream, or its stdout's start kept as the result
 *   (at most `job.capture.maxBytes` bytes: memory stays bounded too).
 * - `capture: json` whose stdout is not JSON fails the attempt (`error` says why).
 * - Timeouts, the kill grace, leftovers and logs: see {@link GroupAttempt}.
 * - The result promise always resolves, also when the shell cannot be started
 *   (`error` is set and there is no exit code).
 */
export function createLocalExecutor(): Executor {
  return { start: (request) => new LocalAttempt(request) };
}

class LocalAttempt extends GroupAttempt {
  private child: ChildProcess | undefined;
  private output: PipeOutput | undefined;

  constructor(request: ExecRequest) {
    super(request);
    this.launch();
  }

  /** Open the log, spawn the shell, arm the timeout. */
  private launch(): void {
    if (this.refused()) return;
    const { job, logPath, onLine, separate } = this.request;
    const piped = needsPipes(this.request);
    let fd: number;
    try {
      fd = openLog(logPath);
    } catch (err) {
      this.fail(`cannot open log file ${logPath}: ${(err as Error).message}`);
      return;
    }
    const { file, args } = textCommandLine(job);
    let child: ChildProcess;
    let input: number | 'ignore' = 'ignore';
    try {
      if (job.stdin !== undefined) input = openSync(stdinPathFor(logPath, job.stdin), 'r');
      child = spawn(file, args, {
        cwd: job.cwd,
        env: jobEnvironment(job.env),
        detached: true,
        stdio: piped ? [input, 'pipe', 'pipe'] : [input, fd, fd],
      });
    } catch (err) {
      closeSync(fd);
      if (input !== 'ignore') closeSync(input);
      this.failToStart(err);
      return;
    }
    if (input !== 'ignore') closeSync(input);
    this.child = child;
    if (!piped) {
      closeSync(fd);
    } else {
      this.output = new PipeOutput(fd, logPath, {
        onLine,
        separate,
        captureBytes: job.capture?.maxBytes,
        backpressure: this.request.backpressure,
      });
      this.output.attach('stdout', child.stdout);
      this.output.attach('stderr', child.stderr);
    }
    child.once('exit', (code, signal) => {
      const output = this.output;
      void this.exited(code, signal, output && (() => output.finish()));
    });
    child.once('error', (err) => {
      // Only a failed spawn has no pid; other errors are followed by 'exit'.
      if (child.pid === undefined) void this.onSpawnError(err);
    });
    // read now: Node reaps its children in a later turn of the event loop, not before
    if (child.pid !== undefined) this.running(child.pid, procStat(child.pid)?.startTicks);
  }

  protected override bound(): void {
    this.output?.bound();
  }

  protected override logWriteError(): NodeJS.ErrnoException | undefined {
    return this.output?.logError;
  }

  /** The captured result and the per-stream files, once the pipes are read to the end. */
  protected override addOutputs(result: AttemptResult): void {
    const captured = this.output?.captured();
    addStreamOutputs(this.request, result, captured && { kept: captured.bytes, cut: captured.cut });
    // what the reader never got is not in the log either: the attempt says so
    result.error ??= this.output?.cutShort();
  }

  private async onSpawnError(err: unknown): Promise<void> {
    if (this.isEnded) return;
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
    if (this.output !== undefined) await this.output.finish().catch(() => 0);
    this.failToStart(err);
  }
}
