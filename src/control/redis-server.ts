import { Redis } from 'ioredis';
import type { RunControls } from '../core/steering.js';
import type { RunEvent } from '../model/events.js';
import { bullConnection } from '../backends/redis-connect.js';
import { withTimeout } from '../backends/redis-health.js';
import type { RedisTarget } from '../backends/redis-url.js';
import { obey, runStatus, type RunIdentity } from './obey.js';
import { parseRequest, type ControlReply } from './protocol.js';
import {
  ENTRY_TTL_MS,
  HEARTBEAT_MS,
  REPLY_TTL_MS,
  RUNS_KEY,
  controlChannel,
  entryKey,
  eventsChannel,
  isReplyKey,
} from './redis-keys.js';
import type { RunState } from './run-state.js';

/** A message longer than this is dropped: no verb needs more. */
const MAX_MESSAGE_BYTES = 1 << 20;

/** How long ending may wait on Redis (it may be gone). */
const CLOSE_WAIT_MS = 2000;

/** What a run on Redis says of itself, for `jobrun ps --backend …` on any machine. */
export interface RedisRunEntry extends RunIdentity {
  runId: string;
  host: string;
  /** ISO time. */
  startedAt: string;
}

/**
 * The run's control channel on Redis: the same requests as its socket, from any
 * machine that reaches the run's Redis. Each message is `{ reply, request }`: the
 * request line is checked by the socket's own parser and answered by the same code
 * (nothing runs from a message); `reply` must be one of this run's reply keys, the
 * only key a message can make the run write. The entry (who the run is, its counts)
 * is renewed every second and lapses after ten without renewal. Nothing here can
 * fail the run: Redis being away only makes it unreachable meanwhile.
 */
export class RedisControlServer {
  private readonly conn: Redis;
  private readonly sub: Redis;
  private timer: ReturnType<typeof setInterval> | undefined;
  private beating = false;
  private again = false;
  private closed = false;
  /** Counts the run's events (not job output): a watcher's snapshot says which it holds. */
  private seq = 0;
  /** Whether to publish events: from a watch request until a publish reaches nobody. */
  private watched = false;
  /** Bumped by each watch request, so a late "nobody heard" does not undo a newer one. */
  private watchGeneration = 0;

  constructor(
    target: RedisTarget,
    private readonly entry: RedisRunEntry,
    private readonly state: RunState,
    private readonly controlsOf: () => RunControls | undefined,
  ) {
    // commands fail while Redis is away rather than pile up: the next beat says it again
    this.conn = new Redis({ ...target.options, maxRetriesPerRequest: 1 });
    this.sub = new Redis(bullConnection(target));
    for (const c of [this.conn, this.sub]) c.on('error', () => {}); // the run's own health check says it
  }

  async open(): Promise<void> {
    this.sub.on('message', (_channel: string, text: string) => void this.onMessage(text));
    await withTimeout(this.sub.subscribe(controlChannel(this.entry.runId)), 10_000);
    await this.beat();
    this.timer = setInterval(() => void this.beat(), HEARTBEAT_MS);
    this.timer.unref();
  }

  /**
   * Publishes the event while someone watches (fire and forget: a watcher never slows
   * the run; with none, an event costs a counter). The run started, scaled or began to
   * stop: the listing says so now, not at the next beat.
   */
  onEvent(event: RunEvent): void {
    if (event.type === 'job_output') return;
    this.seq++;
    if (this.watched && !this.closed) this.publish({ seq: this.seq, event });
    if (
      event.type === 'run_start' ||
      event.type === 'workers_change' ||
      event.type === 'run_stopping'
    )
      void this.beat();
  }

  /**
   * Stops answering first (a request sent now is told the run ended), tells watchers
   * the exit code (when the run got that far), then removes the entry.
   */
  async close(exitCode?: number): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.sub.disconnect();
    const { runId } = this.entry;
    const last = JSON.stringify({ seq: this.seq, exitCode });
    const multi = this.conn.multi();
    if (exitCode !== undefined) multi.publish(eventsChannel(runId), last);
    await withTimeout(multi.del(entryKey(runId)).zrem(RUNS_KEY, runId).exec(), CLOSE_WAIT_MS).catch(
      () => {},
    ); // left to lapse
    this.conn.disconnect();
  }

  private async beat(): Promise<void> {
    if (this.closed) return;
    if (this.beating) {
      this.again = true; // what changed meanwhile is written right after
      return;
    }
    this.beating = true;
    this.again = false;
    const { runId, startedAt, ...who } = this.entry;
    const status = runStatus(who, this.state, this.controlsOf());
    const value = JSON.stringify({ ...this.entry, status });
    try {
      await withTimeout(
        this.conn
          .multi()
          .set(entryKey(runId), value, 'PX', ENTRY_TTL_MS)
          .zadd(RUNS_KEY, Date.parse(startedAt), runId)
          .exec(),
        HEARTBEAT_MS * 5,
      );
    } catch {
      // Redis away: the entry lapses, and comes back with the next beat that gets through
    } finally {
      this.beating = false;
    }
    if (this.again) void this.beat();
  }

  /** The run as it is now, and the number of its last event: later ones come on the channel. */
  private watch(): ControlReply {
    this.watched = true;
    this.watchGeneration++;
    return { ok: true, snapshot: this.state.snapshot(), seq: this.seq };
  }

  private publish(message: { seq: number; event: RunEvent }): void {
    const generation = this.watchGeneration;
    this.conn.publish(eventsChannel(this.entry.runId), JSON.stringify(message)).then(
      (heard) => {
        if (heard === 0 && generation === this.watchGeneration) this.watched = false;
      },
      () => {}, // Redis away: the watcher notices by itself
    );
  }

  private async onMessage(text: string): Promise<void> {
    if (this.closed || text.length > MAX_MESSAGE_BYTES) return;
    let envelope: { reply?: unknown; request?: unknown };
    try {
      envelope = JSON.parse(text) as typeof envelope;
    } catch {
      return; // no reply key to answer on
    }
    const { reply, request } = envelope ?? {};
    if (typeof reply !== 'string' || !isReplyKey(this.entry.runId, reply)) return;
    const parsed =
      typeof request === 'string' ? parseRequest(request) : { error: 'not a control request' };
    let answer: ControlReply;
    if ('error' in parsed) answer = { ok: false, error: parsed.error };
    else if (parsed.verb === 'watch') answer = this.watch();
    else if (parsed.verb === 'logs')
      answer = {
        ok: false,
        error: `jobrun logs does not work through Redis: job output is on the workers`,
      };
    else {
      const { runId: _id, startedAt: _at, ...who } = this.entry;
      answer = await obey(parsed, who, this.state, this.controlsOf());
    }
    await withTimeout(
      this.conn.multi().rpush(reply, JSON.stringify(answer)).pexpire(reply, REPLY_TTL_MS).exec(),
      CLOSE_WAIT_MS,
    ).catch(() => {}); // the client says it had no answer
  }
}
