import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../../src/core/clock.js';
import { createDispatch, RemoteDispatch } from '../../src/core/dispatch.js';
import { newEntry } from '../../src/core/entry.js';
import { createStartGate } from '../../src/core/gates.js';
import { LocalDispatch } from '../../src/core/local-dispatch.js';
import { logPathFor } from '../../src/core/log-path.js';
import type { AttemptHooks, RemoteExecutor } from '../../src/core/remote.js';
import type { ExecRequest } from '../../src/exec/types.js';
import type { AttemptResult } from '../../src/model/attempt.js';
import { EventLog, FakeExecutor, job } from './harness.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

function local(extra: Partial<ConstructorParameters<typeof LocalDispatch>[0]> = {}) {
  const executor = new FakeExecutor({});
  const log = new EventLog();
  const dispatch = new LocalDispatch({
    runId: 'r1',
    executor,
    emit: log.emit,
    clock: systemClock,
    workers: { min: 2, max: 2 },
    pools: { cpu: { workers: 1 } },
    logDir: '/logs',
    ...extra,
  });
  return { executor, log, dispatch };
}

describe('LocalDispatch', () => {
  it('runs attempts on the lowest free slot, with its log path and a job_start', () => {
    const { executor, log, dispatch } = local();
    const a = newEntry(job('a'));
    const b = newEntry(job('b', {}, 1));
    dispatch.start(a, { attempt: 1, timeoutMs: 500, now: 0 });
    dispatch.start(b, { attempt: 2, timeoutMs: undefined, now: 0 });
    expect(executor.requests.map((r) => [r.worker, r.logPath, r.timeoutMs])).toEqual([
      ['1', logPathFor('/logs', 'a', 0, 1), 500],
      ['2', logPathFor('/logs', 'b', 1, 2), undefined],
    ]);
    dispatch.ended(a);
    dispatch.start(newEntry(job('c', {}, 2)), { attempt: 1, timeoutMs: undefined, now: 0 });
    expect(executor.requests[2]!.worker).toBe('1');
    expect(log.of('job_start').map((e) => [e.id, e.name, e.worker])).toEqual([
      ['1-a', 'a', '1'],
      ['2-b', 'b', '2'],
      ['3-c', 'c', '1'],
    ]);
  });

  it('puts the handle on the job before job_start, so a listener can stop it', () => {
    const executor = new FakeExecutor({});
    const entry = newEntry(job('a'));
    let seen: unknown;
    const dispatch = new LocalDispatch({
      runId: 'r1',
      executor,
      emit: () => (seen = entry.running),
      clock: systemClock,
      workers: { min: 1, max: 1 },
      pools: {},
      logDir: '/logs',
    });
    dispatch.start(entry, { attempt: 1, timeoutMs: undefined, now: 0 });
    expect(seen).toBeDefined();
    expect(seen).toBe(entry.running);
  });

  it('limits pools and workers; a dynamic pool grows for ready jobs', () => {
    const { log, dispatch } = local({ workers: { min: 1, max: 4 } });
    expect(dispatch.poolLimit('cpu')).toBe(1);
    expect(dispatch.poolLimit('')).toBe(Infinity);
    expect(dispatch.limit(3, 0, 0)).toBe(3);
    expect(log.of('workers_change').map((e) => e.workers)).toEqual([3]);
  });

  it('asks the start gate and tells it of each start', () => {
    const { dispatch } = local({ gate: createStartGate({ delayMs: 1000 }) });
    expect(dispatch.gateWait(0)).toBe(0);
    dispatch.start(newEntry(job('a')), { attempt: 1, timeoutMs: undefined, now: 0 });
    expect(dispatch.gateWait(400)).toBe(600);
  });

  it('retries after the backoff while retries are left, and cancels pending retries', async () => {
    const { log, dispatch } = local();
    const entry = newEntry(job('a', { retries: 1 }));
    entry.attempts.push({ attempt: 1, startedAt: 0, durationMs: 1, timedOut: false, exitCode: 1 });
    let due = 0;
    expect(dispatch.retry(entry, () => due++)).toBe(true);
    expect(entry.status).toBe('retrying');
    expect(log.of('job_retry')).toMatchObject([{ name: 'a', nextAttempt: 2, delayMs: 1000 }]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(due).toBe(1);
    entry.attempts.push({ attempt: 2, startedAt: 0, durationMs: 1, timedOut: false, exitCode: 1 });
    expect(dispatch.retry(entry, () => due++)).toBe(false);

    const other = newEntry(job('b', { retries: 3 }));
    dispatch.retry(other, () => due++);
    expect(dispatch.cancelRetries()).toEqual([other]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(due).toBe(1);
  });
});

describe('RemoteDispatch', () => {
  class Remote implements RemoteExecutor {
    readonly remote = true;
    hooks: AttemptHooks | undefined;
    start(_request: ExecRequest, hooks: AttemptHooks) {
      this.hooks = hooks;
      return { result: new Promise<AttemptResult>(() => {}), stop: () => {} };
    }
    stops = 0;
    stopRun() {
      this.stops++;
    }
  }

  it('ignores pool limits, never retries, and records attempts reported by the backend', () => {
    const remote = new Remote();
    const log = new EventLog();
    let room = 0;
    const dispatch = createDispatch({
      runId: 'r1',
      executor: remote,
      emit: log.emit,
      clock: systemClock,
      workers: { min: 3, max: 3 },
      pools: { cpu: { workers: 1 } },
      logDir: '/logs',
      maxQueue: 2,
      onRoom: () => room++,
    });
    expect(dispatch).toBeInstanceOf(RemoteDispatch);
    expect([dispatch.workers, dispatch.poolLimit('cpu')]).toEqual([3, Infinity]);
    const entry = newEntry(job('a', { retries: 5 }));
    dispatch.start(entry, { attempt: 1, timeoutMs: undefined, now: 0 });
    expect(dispatch.withdraws(entry)).toBe(true); // still queued remotely
    remote.hooks!.started(1, 'h:1/1', 7);
    expect(room).toBe(1);
    expect(dispatch.withdraws(entry)).toBe(false);
    remote.hooks!.attemptEnded({ attempt: 1, startedAt: 0, durationMs: 1, timedOut: false });
    expect(entry.attempts).toHaveLength(1);
    expect(log.events.map((e) => e.type)).toEqual(['job_start', 'attempt_end']);
    expect(dispatch.retry(entry, () => {})).toBe(false);
    dispatch.stopping?.();
    expect(remote.stops).toBe(1);
  });

  it('keeps at most maxQueue jobs waiting in the backend; a job taken by a worker makes room', () => {
    const remote = new Remote();
    let room = 0;
    const dispatch = new RemoteDispatch(remote, new EventLog().emit, 1, 2, () => room++, 'r1');
    const started: AttemptHooks[] = [];
    for (const name of ['a', 'b']) {
      dispatch.start(newEntry(job(name)), { attempt: 1, timeoutMs: undefined, now: 0 });
      started.push(remote.hooks!);
    }
    expect(dispatch.limit(0, 2)).toBe(2); // two in flight, both waiting: full
    started[0]!.started(1, 'h:1/1');
    expect(room).toBe(1);
    expect(dispatch.limit(0, 2)).toBe(3); // one running, one waiting: one more may go
  });

  it('hands nothing over while jobrun’s output is behind; few wait in the backend while output comes back', () => {
    const remote = Object.assign(new Remote(), { returnsOutput: true });
    let room = 0;
    let clear: (() => void) | undefined;
    const pressure = { blocked: true, whenClear: (c: () => void) => (clear = c) };
    const dispatch = new RemoteDispatch(
      remote,
      new EventLog().emit,
      1,
      10_000,
      () => room++,
      'r1',
      undefined,
      pressure,
    );
    expect(dispatch.gateWait(0)).toBeGreaterThan(0);
    expect(dispatch.gateWait(0)).toBeGreaterThan(0); // asked again: still one wait
    pressure.blocked = false;
    clear!();
    expect(room).toBe(1);
    expect(dispatch.gateWait(0)).toBe(0);
    expect(dispatch.limit(0, 0)).toBe(16); // not --max-queue's 10,000
  });
});
