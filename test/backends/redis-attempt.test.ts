import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RemoteAttempt, type AttemptOwner } from '../../src/backends/redis-attempt.js';
import type { AttemptResult } from '../../src/model/attempt.js';
import { makeJob, requestIn } from '../exec/helpers.js';

/** A remote attempt whose owner notes each cancel it is asked for. */
function attempt() {
  const cancels: Array<[boolean, boolean | undefined]> = [];
  const owner: AttemptOwner = {
    waiters: new Map(),
    cancel: (_a, immediate, unstarted) => {
      cancels.push([immediate, unstarted]);
      return Promise.resolve();
    },
    streamsOf: () => ({}),
  };
  const heard: string[] = [];
  const hooks = {
    started: (n: number) => void heard.push(`start ${n}`),
    attemptEnded: (r: AttemptResult) => void heard.push(`end ${r.attempt}`),
    retrying: (n: number) => void heard.push(`retry ${n}`),
  };
  const job = makeJob('true', { killGraceMs: 1000 });
  const a = new RemoteAttempt(owner, 'run.j', requestIn('/tmp', job), hooks);
  let settled: AttemptResult | undefined;
  void a.result.then((r) => (settled = r));
  return { a, cancels, heard, settled: () => settled };
}

describe('a remote attempt withdrawn by a stop that lets running jobs finish', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('asks only that it be dropped unstarted, and is no attempt when nobody answers', async () => {
    const t = attempt();
    t.a.dropUnlessStarted();
    expect(t.cancels).toEqual([[false, true]]);
    // a worker that held it may be gone: the wait is bounded, as a stop's is
    await vi.advanceTimersByTimeAsync(6_500);
    expect(t.settled()).toMatchObject({ unstarted: true });
  });

  it('a withdrawal that becomes a stop keeps the stop’s bound, even once a start is heard', async () => {
    const t = attempt();
    t.a.dropUnlessStarted();
    t.a.stop();
    expect(t.cancels).toEqual([
      [false, true],
      [false, undefined],
    ]);
    t.a.message({ kind: 'start', attempt: 1, worker: 'h:1/1', startedAt: Date.now() });
    await vi.advanceTimersByTimeAsync(6_500);
    expect(t.settled()).toMatchObject({ error: 'no worker confirmed the stop' });
    expect(t.settled()?.unstarted).toBeUndefined();
  });

  it('waits for the end of one a worker had started, however long it runs', async () => {
    const t = attempt();
    t.a.dropUnlessStarted();
    t.a.message({ kind: 'start', attempt: 1, worker: 'h:1/1', startedAt: Date.now() });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.settled()).toBeUndefined();
    t.a.completed({ attempt: 1, startedAt: 0, durationMs: 60_000, timedOut: false, exitCode: 0 });
    await vi.advanceTimersByTimeAsync(0);
    expect(t.settled()).toMatchObject({ exitCode: 0 });
    expect(t.settled()?.unstarted).toBeUndefined();
  });
});

describe('a remote attempt adopted by --resume', () => {
  const start = (attempt: number) => ({ kind: 'start', attempt, worker: 'h:1/1', startedAt: 0 });
  const end = (attempt: number) => ({
    kind: 'end',
    result: { attempt, startedAt: 0, durationMs: 800, timedOut: true },
    retryInMs: 20,
  });

  it('hears each attempt once, though its last message is read back as its events come', () => {
    // the queue's events: attempt 1 starts and times out; the job's progress, read back
    // meanwhile, is that end again, or (read earlier) that start
    const t = attempt();
    t.a.message(start(1));
    t.a.message(end(1));
    t.a.message(end(1));
    t.a.message(start(1));
    t.a.message(start(2));
    t.a.message(end(1));
    expect(t.heard).toEqual(['start 1', 'end 1', 'retry 2', 'start 2']);
  });
});
