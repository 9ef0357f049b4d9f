import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BackendError, describe, oneShot } from '../backends/redis-connect.js';
import { withTimeout } from '../backends/redis-health.js';
import type { RedisTarget } from '../backends/redis-url.js';
import { ControlError } from '../errors.js';
import type { ControlRequest } from './protocol.js';
import { RUNS_KEY, RUN_ID, controlChannel, entryKey, replyPrefix } from './redis-keys.js';
import type { RedisRunEntry } from './redis-server.js';

/** A run listed in Redis, with the counts of its last renewal. */
export interface ListedRun extends RedisRunEntry {
  status: Record<string, unknown>;
}

/**
 * The runs on one Redis and a way to ask them, for `jobrun ps|scale|drain|… --backend`.
 * Every wait is bounded by `timeoutMs` (`--redis-timeout`): an unreachable Redis, or a
 * run that ends or dies under a request, is a clear error, never a hang. Messages
 * name the URL without its password.
 */
export class RedisRuns {
  private constructor(
    private readonly conn: Redis,
    private readonly target: RedisTarget,
    private readonly timeoutMs: number,
  ) {}

  static async connect(target: RedisTarget, timeoutMs: number): Promise<RedisRuns> {
    const conn = new Redis(oneShot(target, timeoutMs));
    let lastError: Error | undefined;
    conn.on('error', (err: Error) => (lastError = err));
    try {
      await withTimeout(conn.connect(), timeoutMs);
      const db = target.options.db ?? 0;
      if (db !== 0) await withTimeout(conn.select(db), timeoutMs);
    } catch (err) {
      conn.disconnect();
      const why = describe(lastError ?? err, target);
      throw new BackendError(`cannot use Redis at ${target.safe}: ${why}`);
    }
    return new RedisRuns(conn, target, timeoutMs);
  }

  /** The live runs, oldest first; ids whose entry lapsed (coordinator gone) are removed. */
  async list(): Promise<ListedRun[]> {
    const ids = (await this.bounded(this.conn.zrange(RUNS_KEY, 0, -1))).filter((id) =>
      RUN_ID.test(id),
    );
    if (ids.length === 0) return [];
    const values = await this.bounded(this.conn.mget(ids.map(entryKey)));
    const runs: ListedRun[] = [];
    const lapsed: string[] = [];
    ids.forEach((id, i) => {
      const run = parseEntry(values[i]);
      if (run?.runId === id) runs.push(run);
      else lapsed.push(id);
    });
    if (lapsed.length) await this.bounded(this.conn.zrem(RUNS_KEY, ...lapsed)).catch(() => {});
    return runs;
  }

  /** Sends `request` to the run and returns its answer; a refusal or silence is a `ControlError`. */
  async ask(run: ListedRun, request: ControlRequest): Promise<Record<string, unknown>> {
    const reply = replyPrefix(run.runId) + randomBytes(16).toString('hex');
    const message = JSON.stringify({ reply, request: JSON.stringify(request) });
    const heard = await this.bounded(this.conn.publish(controlChannel(run.runId), message));
    if (heard === 0) throw ended(run, 'has ended; nothing was done');
    // BLPOP's own timeout (seconds) ends the wait on the server; ours guards the connection
    const seconds = Math.max(0.1, this.timeoutMs / 1000);
    const popped = await withTimeout(this.conn.blpop(reply, seconds), this.timeoutMs + 2000).catch(
      (err: unknown) => {
        throw new ControlError(
          `no answer through Redis at ${this.target.safe}: ${describe(err, this.target)}`,
        );
      },
    );
    if (popped === null) {
      const still = await this.bounded(this.conn.exists(entryKey(run.runId))).catch(() => 1);
      if (still === 0) throw ended(run, 'ended while answering (or was killed)');
      throw new ControlError(
        `run ${run.runId} (pid ${run.pid} on ${run.host}) did not answer within ${this.timeoutMs / 1000}s`,
      );
    }
    let answer: Record<string, unknown>;
    try {
      answer = JSON.parse(popped[1]) as Record<string, unknown>;
    } catch {
      throw new ControlError(`run ${run.runId} gave an answer that is not JSON`);
    }
    if (answer.ok === false) throw new ControlError(`run ${run.runId}: ${String(answer.error)}`);
    return answer;
  }

  /** Whether the run's entry is still renewed: a coordinator killed with -9 lets it lapse. */
  async alive(run: ListedRun): Promise<boolean> {
    return (await this.bounded(this.conn.exists(entryKey(run.runId)))) === 1;
  }

  close(): void {
    this.conn.disconnect();
  }

  private bounded<T>(command: Promise<T>): Promise<T> {
    return withTimeout(command, this.timeoutMs).catch((err: unknown) => {
      throw new BackendError(`Redis at ${this.target.safe}: ${describe(err, this.target)}`);
    });
  }
}

function ended(run: ListedRun, what: string): ControlError {
  return new ControlError(`run ${run.runId} (pid ${run.pid} on ${run.host}) ${what}`);
}

function parseEntry(text: string | null | undefined): ListedRun | undefined {
  if (!text) return undefined;
  try {
    const e = JSON.parse(text) as Partial<ListedRun>;
    const ok =
      typeof e.runId === 'string' &&
      RUN_ID.test(e.runId) &&
      typeof e.pid === 'number' &&
      typeof e.host === 'string' &&
      typeof e.cwd === 'string' &&
      typeof e.what === 'string' &&
      typeof e.startedAt === 'string';
    return ok ? ({ status: {}, ...e } as ListedRun) : undefined;
  } catch {
    return undefined;
  }
}
