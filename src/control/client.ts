import net from 'node:net';
import { ControlError } from '../errors.js';
import type { ControlRequest } from './protocol.js';
import type { RunEntry } from './registry.js';

/** How long a run may take to answer one request: it answers at once unless it is stuck. */
const ANSWER_MS = 5000;

/** Sends `request` to `run` and returns its answer; a refusal or silence is a `ControlError`. */
export async function ask(
  run: RunEntry,
  request: ControlRequest,
  timeoutMs = ANSWER_MS,
): Promise<Record<string, unknown>> {
  let answer: Record<string, unknown> | undefined;
  await converse(run, request, timeoutMs, (message) => {
    answer ??= message;
    return false;
  });
  if (answer === undefined) throw gone(run);
  return answer;
}

/**
 * Sends `request` and hands every line of the answer to `onMessage` until the run
 * closes the connection or `onMessage` returns false. The first line must come
 * within `timeoutMs`; later ones may take as long as the run lasts.
 */
export function converse(
  run: RunEntry,
  request: ControlRequest,
  timeoutMs: number,
  onMessage: (message: Record<string, unknown>, close: () => void) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(run.socket);
    const close = () => {
      socket.destroy();
      resolve();
    };
    let first = true;
    let buffered = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () =>
      fail(
        new ControlError(
          `run ${run.runId} (pid ${run.pid}) did not answer within ${timeoutMs / 1000}s`,
        ),
      ),
    );
    socket.on('connect', () => socket.write(JSON.stringify(request) + '\n'));
    // the run ending under a request shows as ENOENT, ECONNREFUSED, ECONNRESET or EPIPE
    socket.on('error', () => fail(first ? gone(run) : cutOff(run)));
    socket.on('close', () => resolve());
    socket.setEncoding('utf8'); // a character split between two reads stays whole
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let message: Record<string, unknown>;
        try {
          message = JSON.parse(line) as Record<string, unknown>;
        } catch {
          return fail(new ControlError(`run ${run.runId} gave an answer that is not JSON`));
        }
        if (first) {
          first = false;
          socket.setTimeout(0);
          if (message.ok === false)
            return fail(new ControlError(`run ${run.runId}: ${String(message.error)}`));
        }
        if (!onMessage(message, close)) return close();
      }
    });
  });
}

function cutOff(run: RunEntry): ControlError {
  return new ControlError(`run ${run.runId} (pid ${run.pid}) ended while answering`);
}

function gone(run: RunEntry): ControlError {
  return new ControlError(`run ${run.runId} (pid ${run.pid}) has ended; nothing was done`);
}
