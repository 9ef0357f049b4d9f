import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../src/backends/redis-url.js';
import { RedisRuns } from '../../src/control/redis-client.js';
import { controlChannel, eventsChannel, replyPrefix } from '../../src/control/redis-keys.js';
import { RedisControlServer } from '../../src/control/redis-server.js';
import { RunState } from '../../src/control/run-state.js';
import type { RunControls } from '../../src/core/steering.js';
import type { RunEvent } from '../../src/model/events.js';
import { ControlError } from '../../src/errors.js';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';

const enabled = requireRedisOrWarn('test/control/redis-control.test.ts');

/** Controls that only record what they were asked. */
function recording(): RunControls & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    pause: (pool) => void calls.push(`pause ${pool ?? ''}`),
    unpause: (pool) => void calls.push(`unpause ${pool ?? ''}`),
    scale: (change) => (calls.push(`scale ${JSON.stringify(change)}`), Promise.resolve(true)),
    cancel: (names) => (
      calls.push(`cancel ${names.join(',')}`),
      { cancelled: names, stopping: [], unknown: [] }
    ),
    drain: () => calls.push('drain'),
    steering: () => ({ paused: false, pausedPools: [], poolLimits: {} }),
  };
}

describe.runIf(enabled)('the control channel of a run on Redis', () => {
  let redis: RedisServer;
  let raw: Redis;
  const target = () => parseRedisUrl(redis.url);

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    raw?.disconnect();
    await redis?.stop();
  });

  async function serve(runId: string, controls = recording()) {
    const state = new RunState();
    state.onEvent({
      type: 'run_start',
      time: Date.now(),
      runId,
      manifestPath: null,
      total: 2,
      workers: 1,
      logDir: '/l',
    });
    const entry = {
      runId,
      pid: 4242,
      host: 'here',
      cwd: '/w',
      what: 'm.yaml',
      startedAt: new Date().toISOString(),
    };
    const server = new RedisControlServer(target(), entry, state, () => controls);
    await server.open();
    return { server, controls, state };
  }

  it('answers the verbs, lists the run with its counts and forgets it at the end', async () => {
    const { server, controls } = await serve('r1');
    const runs = await RedisRuns.connect(target(), 5000);
    try {
      const [run] = await runs.list();
      expect(run).toMatchObject({
        runId: 'r1',
        pid: 4242,
        host: 'here',
        status: { total: 2, workers: 1 },
      });
      await runs.ask(run!, { verb: 'scale', workers: 3 });
      await runs.ask(run!, { verb: 'drain' });
      expect(await runs.ask(run!, { verb: 'cancel', jobs: ['x'] })).toMatchObject({
        cancelled: ['x'],
      });
      expect(controls.calls).toEqual(['scale {"verb":"scale","workers":3}', 'drain', 'cancel x']);
      expect(await runs.ask(run!, { verb: 'watch' })).toMatchObject({
        ok: true,
        seq: 0,
        snapshot: { runId: 'r1', total: 2, ended: false },
      });
      await expect(runs.ask(run!, { verb: 'logs', job: 'x' })).rejects.toThrow(
        /job output is on the workers/,
      );
      await server.close();
      expect(await runs.list()).toEqual([]);
      await expect(runs.ask(run!, { verb: 'drain' })).rejects.toThrow(
        /has ended; nothing was done/,
      );
    } finally {
      runs.close();
      await server.close();
    }
  });

  it('publishes numbered events (never job output) after a watch, only while someone listens', async () => {
    const { server, state } = await serve('r-watch');
    const runs = await RedisRuns.connect(target(), 5000);
    const sub = new Redis(redis.url, { lazyConnect: true });
    await sub.connect();
    const heard: Array<Record<string, unknown>> = [];
    sub.on('message', (_c: string, text: string) => heard.push(JSON.parse(text) as never));
    const emit = (event: RunEvent) => {
      state.onEvent(event);
      server.onEvent(event);
    };
    const queued = (name: string): RunEvent => ({
      type: 'job_queued',
      time: 1,
      id: name,
      name,
      priority: 0,
    });
    const heardAll = async (n: number) => {
      for (let i = 0; heard.length < n; i++) {
        if (i === 200) throw new Error(`heard ${heard.length} of ${n} messages`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      const run = (await runs.list()).find((r) => r.runId === 'r-watch');
      emit(queued('a')); // 1: nobody watches
      await sub.subscribe(eventsChannel('r-watch'));
      emit(queued('b')); // 2: a listener, but no watch request yet
      const answer = await runs.ask(run!, { verb: 'watch' });
      expect(answer).toMatchObject({ seq: 2 });
      expect((answer.snapshot as { queued: unknown[] }).queued).toHaveLength(2);
      emit({ type: 'job_output', time: 1, id: 'c', name: 'c', stream: 'stdout', line: 'x' });
      emit(queued('c')); // 3
      await heardAll(1);
      expect(heard).toEqual([{ seq: 3, event: queued('c') }]);
      // nobody listens any more: the next publish reaches no one and publishing stops
      await sub.unsubscribe(eventsChannel('r-watch'));
      emit(queued('d')); // 4, heard by no one
      await runs.ask(run!, { verb: 'status' }); // answered after that publish returned
      await sub.subscribe(eventsChannel('r-watch'));
      emit(queued('e')); // 5: not published (no watch since)
      await server.close(1);
      await heardAll(2);
      expect(heard.slice(1)).toEqual([{ seq: 5, exitCode: 1 }]);
    } finally {
      sub.disconnect();
      runs.close();
      await server.close();
    }
  });

  it('does nothing for a message that is not a valid request, and writes only its own reply keys', async () => {
    const { server, controls } = await serve('r2');
    const reply = `${replyPrefix('r2')}${'a'.repeat(32)}`;
    try {
      const send = (message: unknown) =>
        raw.publish(
          controlChannel('r2'),
          typeof message === 'string' ? message : JSON.stringify(message),
        );
      await send('not json');
      await send({ reply: 'jobrun:meta:pools', request: '{"verb":"drain"}' }); // not a reply key of its own
      await send({ reply: `${replyPrefix('r1')}${'b'.repeat(32)}`, request: '{"verb":"drain"}' });
      await send({ reply, request: '{"verb":"run","command":"rm -rf /"}' });
      await send({ reply, request: '{"verb":"drain","then":"more"}' });
      const answers: string[] = [];
      for (let i = 0; i < 2; i++) {
        const popped = await raw.blpop(reply, 5);
        if (popped) answers.push(popped[1]);
      }
      expect(answers.map((a) => JSON.parse(a) as { ok: boolean })).toEqual([
        expect.objectContaining({
          ok: false,
          error: expect.stringMatching(/not a control request/),
        }),
        expect.objectContaining({
          ok: false,
          error: expect.stringMatching(/not a control request/),
        }),
      ]);
      expect(await raw.exists(`${replyPrefix('r1')}${'b'.repeat(32)}`)).toBe(0);
      expect(await raw.type('jobrun:meta:pools')).toBe('none');
      expect(controls.calls).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('a run that never answers is a clear error within the timeout', async () => {
    const silent = new Redis(redis.url);
    await silent.subscribe(controlChannel('r3')); // listening, never answering
    await raw.set(
      'jobrun:meta:run-entry:r3',
      JSON.stringify({
        runId: 'r3',
        pid: 1,
        host: 'h',
        cwd: '/',
        what: 'w',
        startedAt: new Date().toISOString(),
      }),
      'PX',
      60_000,
    );
    await raw.zadd('jobrun:meta:runs', Date.now(), 'r3');
    const runs = await RedisRuns.connect(target(), 500);
    try {
      const [run] = await runs.list();
      const asked = runs.ask(run!, { verb: 'drain' });
      await expect(asked).rejects.toBeInstanceOf(ControlError);
      await expect(asked).rejects.toThrow(/did not answer within 0.5s/);
    } finally {
      runs.close();
      silent.disconnect();
    }
  });
});
