import type { RunControls } from '../core/steering.js';
import type { ControlReply, ControlRequest } from './protocol.js';
import type { RunState } from './run-state.js';

/** Who a run is, as `jobrun ps` shows it; `host` only where it can be asked from elsewhere. */
export interface RunIdentity {
  pid: number;
  cwd: string;
  what: string;
  host?: string;
}

/** A run as `jobrun ps` shows it: who it is, its counts, how it is steered. */
export function runStatus(
  who: RunIdentity,
  state: RunState,
  controls: RunControls | undefined,
): Record<string, unknown> {
  const { done, ...base } = state.base;
  return {
    ...base,
    ...who,
    done,
    ...state.counts(),
    ...(controls?.steering() ?? {}),
  };
}

/**
 * Carries out one validated request (every verb but `watch`, which streams) and says
 * how it went: the one place the control socket and the Redis channel both answer
 * from, so a verb means the same whichever way it came. A verb the backend cannot
 * carry out is refused with why; it never throws.
 */
export async function obey(
  request: Exclude<ControlRequest, { verb: 'watch' }>,
  who: RunIdentity,
  state: RunState,
  controls: RunControls | undefined,
): Promise<ControlReply> {
  if (request.verb === 'status') return { ok: true, run: runStatus(who, state, controls) };
  if (request.verb === 'logs') return { ok: true, log: state.jobLog(request.job) };
  if (controls === undefined || state.base.ended)
    return {
      ok: false,
      error: 'this run takes no control requests (it is ending, or runs on a backend that cannot)',
    };
  switch (request.verb) {
    case 'pause':
    case 'unpause':
      try {
        await controls[request.verb](request.pool);
        return { ok: true };
      } catch (err) {
        return { ok: false, error: `could not ${request.verb}: ${(err as Error).message}` };
      }
    case 'scale':
      try {
        return (await controls.scale(request))
          ? { ok: true }
          : { ok: false, error: 'this run cannot be scaled (its workers are on the backend)' };
      } catch (err) {
        return { ok: false, error: `could not scale: ${(err as Error).message}` };
      }
    case 'cancel':
      return { ok: true, ...controls.cancel(request.jobs) };
    case 'drain':
      controls.drain();
      return { ok: true };
  }
}
