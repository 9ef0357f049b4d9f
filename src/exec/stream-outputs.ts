import type { AttemptResult } from '../model/attempt.js';
import { captureResult } from '../model/result.js';
import type { ExecRequest } from './types.js';

/**
 * What an attempt whose streams came back apart adds to its result, whichever executor
 * read them: the per-stream files (`separate`) and the captured result, made from the
 * first `job.capture.maxBytes` bytes of stdout (`kept`), `cut` when there was more.
 * A `capture: json` that cannot be parsed fails an attempt that exited 0; a job that
 * failed anyway keeps its own reason.
 */
export function addStreamOutputs(
  request: ExecRequest,
  result: AttemptResult,
  stdout: { kept: Buffer; cut: boolean } | undefined,
): void {
  const { job, separate } = request;
  if (separate) {
    result.stdoutPath = separate.stdoutPath;
    result.stderrPath = separate.stderrPath;
  }
  if (!job.capture || stdout === undefined) return;
  const made = captureResult(job.capture, stdout.kept, stdout.cut);
  if (made.result !== undefined) result.result = made.result;
  if (made.truncated) result.resultTruncated = true;
  if (made.error !== undefined && result.exitCode === 0 && !result.timedOut)
    result.error = made.error;
}
