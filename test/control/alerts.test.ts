import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AlertWatcher } from '../../src/control/alerts.js';
import type { AlertsSpec } from '../../src/model/alerts.js';
import type { JobRecord, RunEvent, RunEventMap } from '../../src/model/events.js';

function watcher(spec: AlertsSpec) {
  const emitted: RunEventMap['alert'][] = [];
  const ran: string[] = [];
  const w = new AlertWatcher(spec, {
    emit: (p) => emitted.push(p),
    run: (p) => ran.push(p.alert),
  });
  const send = (e: Record<string, unknown>) => w.onEvent({ time: 0, ...e } as RunEvent);
  send({ type: 'run_start', runId: 'r', manifestPath: null, total: null, workers: 1, logDir: '' });
  return { emitted, ran, send };
}

const record = (id: string, status: JobRecord['status']): Record<string, unknown> => ({
  type: 'job_end',
  job: { id, name: id, status, attempts: [{}], allowFailure: false },
});

describe('AlertWatcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('fires a queue-depth alert once it stayed above for its time, once per episode', () => {
    const { emitted, ran, send } = watcher({ queueDepth: { above: 1, forMs: 1000 } });
    for (const id of ['a', 'b', 'c']) send({ type: 'job_queued', id, name: id, priority: 0 });
    vi.advanceTimersByTime(999);
    expect(ran).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(ran).toEqual(['queue_depth']);
    send({ type: 'job_queued', id: 'd', name: 'd', priority: 0 });
    vi.advanceTimersByTime(5000);
    expect(ran).toEqual(['queue_depth']); // the same episode
    for (const id of ['a', 'b', 'c'])
      send({ type: 'job_start', id, name: id, attempt: 1, worker: '1' });
    expect(emitted.map((e) => [e.alert, e.cleared])).toEqual([
      ['queue_depth', false],
      ['queue_depth', true],
    ]);
    expect(emitted.map((e) => e.message)).toEqual([
      '3 jobs waiting, above 1 for 1s',
      '1 job waiting (limit 1)',
    ]);
    for (const id of ['e', 'f']) send({ type: 'job_queued', id, name: id, priority: 0 });
    vi.advanceTimersByTime(1000);
    expect(ran).toEqual(['queue_depth', 'queue_depth']); // a second episode
  });

  it('a queue that dips below before its time does not fire', () => {
    const { ran, send } = watcher({ queueDepth: { above: 0, forMs: 1000 } });
    send({ type: 'job_queued', id: 'a', name: 'a', priority: 0 });
    vi.advanceTimersByTime(500);
    send({ type: 'job_start', id: 'a', name: 'a', attempt: 1, worker: '1' });
    vi.advanceTimersByTime(5000);
    expect(ran).toEqual([]);
  });

  it('fires on a failure rate above its share of the last jobs, and clears below it', () => {
    const { emitted, send } = watcher({ failureRate: { abovePercent: 50, last: 4 } });
    send(record('a', 'failed'));
    expect(emitted.at(-1)).toMatchObject({ alert: 'failure_rate', value: 100, cleared: false });
    send(record('b', 'succeeded')); // 50 %: not above
    expect(emitted.at(-1)).toMatchObject({ alert: 'failure_rate', cleared: true });
    send(record('c', 'timed_out')); // 2 of 3
    expect(emitted.at(-1)).toMatchObject({ alert: 'failure_rate', value: 66.7, cleared: false });
    send(record('d', 'failed')); // 3 of 4: the same episode
    send({ ...record('e', 'cancelled'), job: { id: 'e', status: 'cancelled', attempts: [] } });
    expect(emitted).toHaveLength(3); // a job that never ran does not count
  });

  it('fires when no job ended for the stall time while jobs run, and clears when one ends', () => {
    const { emitted, ran, send } = watcher({ stalledMs: 60_000 });
    send({ type: 'job_queued', id: 'a', name: 'a', priority: 0 });
    send({ type: 'job_start', id: 'a', name: 'a', attempt: 1, worker: '1' });
    vi.advanceTimersByTime(60_000);
    expect(ran).toEqual(['stalled']);
    vi.advanceTimersByTime(600_000);
    expect(ran).toEqual(['stalled']);
    send({ type: 'attempt_end', id: 'a', name: 'a', result: {} });
    send(record('a', 'succeeded'));
    expect(emitted.map((e) => e.cleared)).toEqual([false, true]);
    vi.advanceTimersByTime(600_000); // nothing runs or waits: not stalled
    expect(ran).toEqual(['stalled']);
  });
});
