import { Redis } from 'ioredis';
import { BackendError, describe, oneShot } from '../backends/redis-connect.js';
import { withTimeout } from '../backends/redis-health.js';
import type { RedisTarget } from '../backends/redis-url.js';
import { ControlError } from '../errors.js';
import type { ListedRun, RedisRuns } from './redis-client.js';
import { eventsChannel } from './redis-keys.js';

/** How often a watcher checks that the run's entry is still renewed (its coordinator lives). */
const ALIVE_CHECK_MS = 1000;

type OnMessage = (message: Record<string, unknown>, close: () => void) => boolean;

interface Published {
  seq: number;
  event?: unknown;
  exitCode?: number;
}

/**
 * `jobrun watch --backend …`: the same messages as the run's socket gives a watcher
 * (the snapshot, then `{event}`s, then `{exitCode}`), through Redis. Subscribes to the
 * run's events first, then asks for the snapshot: an event numbered at or below the
 * snapshot's is already in it and is dropped. Never hangs: a run whose entry lapses
 * (its coordinator killed) or a Redis that goes away ends the watch with an error
 * within the entry's TTL plus `timeoutMs`.
 */
export function followRun(
  target: RedisTarget,
  timeoutMs: number,
  runs: RedisRuns,
  run: ListedRun,
  onMessage: OnMessage,
): Promise<void> {
  const sub = new Redis(oneShot(target, timeoutMs));
  let lastError: Error | undefined;
  sub.on('error', (err: Error) => (lastError = err));
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let timer: ReturnType<typeof setInterval> | undefined;
    /** The number of the last event shown; unset until the snapshot came. */
    let shown: number | undefined;
    const early: Published[] = [];
    const finish = (err?: unknown) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      sub.disconnect();
      if (err === undefined) resolve();
      else reject(err);
    };
    const close = () => finish();
    const lost = () =>
      finish(
        new BackendError(
          `lost Redis at ${target.safe}: ${describe(lastError ?? 'connection closed', target)}`,
        ),
      );
    const deliver = (m: Published) => {
      if (typeof m.exitCode === 'number') {
        onMessage({ exitCode: m.exitCode }, close);
        return finish();
      }
      if (shown === undefined || m.seq <= shown || m.event === undefined) return;
      shown = m.seq;
      if (!onMessage({ event: m.event }, close)) finish();
    };
    sub.on('message', (_channel: string, text: string) => {
      const m = parsePublished(text);
      if (m === undefined || done) return;
      if (shown === undefined) early.push(m);
      else deliver(m);
    });
    sub.on('end', lost);
    let checking = false;
    const check = () => {
      if (checking || done) return;
      checking = true;
      runs.alive(run).then(
        (alive) => {
          checking = false;
          if (!alive)
            finish(
              new ControlError(
                `run ${run.runId} (pid ${run.pid} on ${run.host}) went away without saying how it ended (its coordinator was killed?)`,
              ),
            );
        },
        (err: unknown) => finish(err),
      );
    };
    void (async () => {
      try {
        await withTimeout(sub.connect(), timeoutMs);
        await withTimeout(sub.subscribe(eventsChannel(run.runId)), timeoutMs);
      } catch (err) {
        throw new BackendError(
          `cannot use Redis at ${target.safe}: ${describe(lastError ?? err, target)}`,
        );
      }
      const answer = await runs.ask(run, { verb: 'watch' });
      if (done) return;
      shown = typeof answer.seq === 'number' ? answer.seq : 0;
      if (!onMessage(answer, close)) return finish();
      for (const m of early.splice(0)) deliver(m);
      timer = setInterval(check, ALIVE_CHECK_MS);
    })().catch(finish);
  });
}

function parsePublished(text: string): Published | undefined {
  try {
    const m = JSON.parse(text) as Partial<Published> | null;
    return typeof m?.seq === 'number' ? (m as Published) : undefined;
  } catch {
    return undefined;
  }
}
