import { converse } from '../../control/client.js';
import { liveRuns, requireRun } from '../../control/registry.js';
import type { ReachValues } from '../flags/operate-flags.js';
import { backendChoice } from '../flags/run-options.js';

type OnMessage = (message: Record<string, unknown>, close: () => void) => boolean;

/** A run to watch: its messages (snapshot, events, exit code) until it ends or `close`. */
export interface WatchSource {
  runId: string;
  follow(onMessage: OnMessage): Promise<void>;
  close(): void;
}

/** How long a local run may take to answer the watch request. */
const ANSWER_MS = 5000;

/**
 * The run `jobrun watch` follows: one of this user's runs here (its socket), or with
 * `--backend redis…` one listed in that Redis, followed through it from any machine.
 */
export async function watchSource(
  arg: string | undefined,
  flags: ReachValues,
): Promise<WatchSource> {
  const choice = backendChoice(flags.backend, flags.redisUrlFile);
  if (choice.kind === 'local') {
    const run = requireRun(arg, liveRuns());
    return {
      runId: run.runId,
      follow: (onMessage) => converse(run, { verb: 'watch' }, ANSWER_MS, onMessage),
      close: () => {},
    };
  }
  const [{ RedisRuns }, { followRun }] = await Promise.all([
    import('../../control/redis-client.js'),
    import('../../control/redis-watch.js'),
  ]);
  const redis = await RedisRuns.connect(choice.target, flags.redisTimeout);
  try {
    const run = requireRun(arg, await redis.list(), `on ${choice.target.safe}`);
    return {
      runId: run.runId,
      follow: (onMessage) => followRun(choice.target, flags.redisTimeout, redis, run, onMessage),
      close: () => redis.close(),
    };
  } catch (err) {
    redis.close();
    throw err;
  }
}
