import { ask } from '../../control/client.js';
import type { ControlRequest } from '../../control/protocol.js';
import { liveRuns, type RunLike } from '../../control/registry.js';
import type { ReachValues } from '../flags/operate-flags.js';
import { backendChoice } from '../flags/run-options.js';

/** A live run a control command can talk to, here (its socket) or through Redis. */
interface ReachableRun extends RunLike {
  startedAt: string;
  /** Set for runs listed in Redis: the machine the run's coordinator is on. */
  host?: string;
  ask(request: ControlRequest, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** What `jobrun ps` shows of it: counts by state, workers, paused… */
  status(): Promise<Record<string, unknown>>;
}

export interface Reach {
  runs: ReachableRun[];
  /** For "no jobrun run is live (…)". */
  where: string;
  close(): void;
}

/** How long `ps` waits for one local run's answer: a stuck run must not hold the listing up. */
const STATUS_MS = 2000;

/**
 * The runs a control command chooses among: the user's runs on this machine, or with
 * `--backend redis…` the runs listed in that Redis, from whatever machine.
 */
export async function reachRuns(flags: ReachValues): Promise<Reach> {
  const choice = backendChoice(flags.backend, flags.redisUrlFile);
  if (choice.kind === 'local') {
    const runs = liveRuns().map((entry) => {
      const { socket: _s, boot: _b, start: _t, ...info } = entry;
      return {
        ...info,
        ask: (request: ControlRequest, timeoutMs?: number) => ask(entry, request, timeoutMs),
        status: async () =>
          (await ask(entry, { verb: 'status' }, STATUS_MS)).run as Record<string, unknown>,
      };
    });
    return { runs, where: 'for this user', close: () => {} };
  }
  const { RedisRuns } = await import('../../control/redis-client.js');
  const redis = await RedisRuns.connect(choice.target, flags.redisTimeout);
  try {
    const runs = (await redis.list()).map((run) => {
      const { status, ...info } = run;
      return {
        ...info,
        ask: (request: ControlRequest) => redis.ask(run, request),
        status: () => Promise.resolve(status),
      };
    });
    return { runs, where: `on ${choice.target.safe}`, close: () => redis.close() };
  } catch (err) {
    redis.close();
    throw err;
  }
}
