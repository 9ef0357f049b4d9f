import { describe, expect, it } from 'vitest';
import type { AttemptResult } from '../../src/model/attempt.js';
import type { AttemptHooks, RemoteExecutor } from '../../src/core/remote.js';
import { parseHalt } from '../../src/core/halt.js';
import type { JobSpec } from '../../src/model/job.js';
import type { ExecRequest } from '../../src/exec/types.js';
import { jobs, startScheduler } from './harness.js';

/** A remote executor driven by hand: each job waits until the test settles it. */
class ManualRemote implements RemoteExecutor {
  readonly remote = true;
  readonly pending = new Map<string, { hooks: AttemptHooks; settle: (r: AttemptResult) => void }>();
  readonly stopped: string[] = [];
  /** With `dropping`: the jobs a gentle stop asked to drop unless started (nothing settles). */
  readonly dropped: string[] = [];
  runStops = 0;

  /** `dropping`: its attempts can be dropped unless started, as Redis ones can. */
  constructor(private readonly dropping = false) {}

  stopRun() {
    this.runStops++;
  }

  start(request: ExecRequest, hooks: AttemptHooks) {
    let settle!: (r: AttemptResult) => void;
    const result = new Promise<AttemptResult>((resolve) => (settle = resolve));
    this.pending.set(request.job.name, { hooks, settle });
    const stop = () => {
      this.stopped.push(request.job.name);
      settle(res(1, { error: 'withdrawn' }));
    };
    if (!this.dropping) return { result, stop };
    return { result, stop, dropUnlessStarted: () => this.dropped.push(request.job.name) };
  }
}

const res = (attempt: number, extra: Partial<AttemptResult> = {}): AttemptResult => ({
  attempt,
  startedAt: 0,
  durationMs: 5,
  timedOut: false,
  exitCode: 0,
  worker: 'h:1/1',
  ...extra,
});

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup(specs: JobSpec[], extra: { halt?: string; dropping?: boolean } = {}) {
  return startScheduler(specs, new ManualRemote(extra.dropping), {
    logDir: '/tmp',
    pools: { cpu: { workers: 1 } },
    halt: extra.halt ? parseHalt(extra.halt) : undefined,
  });
}

describe('scheduler with a remote executor', () => {
  it('dispatches every ready job at once, ignoring worker and pool limits', () => {
    const t = setup(
      jobs(['a', { pool: 'cpu' }], ['b', { pool: 'cpu' }], ['c'], ['d', { needs: ['a'] }]),
    );
    expect([...t.executor.pending.keys()]).toEqual(['a', 'b', 'c']);
    expect(t.log.of('job_start')).toHaveLength(0); // starts are the workers' to report
  });

  it('reports attempts and retries from the hooks and does not retry itself', async () => {
    const t = setup(jobs(['a', { retries: 1 }]));
    const a = t.executor.pending.get('a')!;
    a.hooks.started(1, 'h:1/1', 42);
    a.hooks.attemptEnded(res(1, { exitCode: 3 }));
    a.hooks.retrying(2, 250);
    a.hooks.started(2, 'h:2/1');
    a.settle(res(2, { exitCode: 3 }));
    const outcome = await t.done;
    expect(t.log.of('job_start').map((e) => [e.attempt, e.worker, e.pid])).toEqual([
      [1, 'h:1/1', 42],
      [2, 'h:2/1', undefined],
    ]);
    expect(t.log.of('job_retry')).toMatchObject([{ nextAttempt: 2, delayMs: 250 }]);
    expect(t.log.ended('a')).toMatchObject({ status: 'failed', exitCode: 3, worker: 'h:1/1' });
    expect(t.log.ended('a').attempts).toHaveLength(2);
    expect(t.executor.pending.size).toBe(1); // never restarted by the scheduler
    expect(outcome.exitCode).toBe(1);
  });

  it('releases dependants when a remote job succeeds', async () => {
    const t = setup(jobs(['a'], ['b', { needs: ['a'] }]));
    t.executor.pending.get('a')!.settle(res(1));
    await tick();
    expect(t.executor.pending.has('b')).toBe(true);
    t.executor.pending.get('b')!.settle(res(1));
    expect((await t.done).summary.succeeded).toBe(2);
  });

  it('--halt soon withdraws jobs still queued remotely, lets started ones finish', async () => {
    const t = setup(jobs(['a'], ['b'], ['c']), { halt: 'soon,fail=1' });
    t.executor.pending.get('b')!.hooks.started(1, 'h:1/1');
    t.executor.pending.get('a')!.settle(res(1, { exitCode: 1 }));
    await tick();
    expect(t.executor.stopped).toEqual(['c']);
    expect(t.executor.runStops).toBe(1); // a halt stops the run on the backend, once
    t.executor.pending.get('b')!.settle(res(1));
    await t.done;
    expect(t.log.ended('b').status).toBe('succeeded');
    expect(t.log.ended('c').status).toBe('cancelled');
  });
  it('a gentle stop drops jobs not heard to start; one a worker had started runs on and ends as it ended', async () => {
    const t = setup(jobs(['a'], ['b'], ['c'], ['d']), { halt: 'soon,fail=1', dropping: true });
    t.executor.pending.get('a')!.settle(res(1, { exitCode: 1 }));
    await tick();
    // none heard to start: dropped unless started, none stopped
    expect(t.executor.dropped).toEqual(['b', 'c', 'd']);
    expect(t.executor.stopped).toEqual([]);
    // b and d had started on a worker before the stop reached it; c had not
    t.executor.pending.get('b')!.settle(res(1));
    t.executor.pending.get('d')!.settle(res(1, { exitCode: 2 }));
    const dropped = { exitCode: undefined, error: 'dropped', unstarted: true as const };
    t.executor.pending.get('c')!.settle(res(1, dropped));
    const outcome = await t.done;
    expect(t.log.ended('b').status).toBe('succeeded');
    expect(t.log.ended('d')).toMatchObject({ status: 'failed', exitCode: 2 });
    // no worker started it: no attempt, as a local job the halt cancelled before its start
    expect(t.log.ended('c')).toMatchObject({ status: 'cancelled', attempts: [] });
    expect(t.log.ended('c').reason).toContain('halted');
    expect(outcome.exitCode).toBe(1);
  });

  it('a job whose retry a stop dropped on its worker ends cancelled with the attempts that ran', async () => {
    const t = setup(jobs(['a'], ['b', { retries: 2 }]), { halt: 'soon,fail=1', dropping: true });
    const b = t.executor.pending.get('b')!;
    b.hooks.started(1, 'h:1/1');
    b.hooks.attemptEnded(res(1, { exitCode: 3 }));
    b.hooks.retrying(2, 100);
    t.executor.pending.get('a')!.settle(res(1, { exitCode: 1 }));
    await tick();
    b.settle(res(2, { exitCode: undefined, error: 'dropped', unstarted: true }));
    await t.done;
    expect(t.log.ended('b')).toMatchObject({ status: 'cancelled' });
    expect(t.log.ended('b').attempts.map((x) => x.exitCode)).toEqual([3]);
  });

  it('a job its worker restored from its cache ends cached, as a local hit, and its dependants proceed', async () => {
    const t = setup(
      jobs(['a', { capture: { mode: 'lines', maxBytes: 100 } }], ['b', { needs: ['a'] }]),
    );
    t.executor.pending.get('a')!.settle(res(1, { cached: 'unchanged since then', result: ['x'] }));
    await tick();
    expect(t.executor.pending.has('b')).toBe(true);
    t.executor.pending.get('b')!.settle(res(1));
    const outcome = await t.done;
    expect(t.log.ended('a')).toMatchObject({
      status: 'cached',
      reason: 'unchanged since then',
      result: ['x'],
      attempts: [],
      worker: 'h:1/1',
    });
    // it never ran: no attempt of it is reported
    expect(t.log.of('attempt_end').map((e) => e.name)).toEqual(['b']);
    expect(outcome.summary).toMatchObject({ cached: 1, succeeded: 1 });
    expect(outcome.exitCode).toBe(0);
  });
});
