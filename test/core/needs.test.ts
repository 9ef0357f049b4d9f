import { describe, expect, it } from 'vitest';
import { newEntry } from '../../src/core/entry.js';
import { Needs } from '../../src/core/needs.js';
import { unranRecord } from '../../src/model/events.js';
import { jobs } from './harness.js';

function graph(...specs: Parameters<typeof jobs>) {
  const entries = jobs(...specs).map(newEntry);
  const needs = new Needs();
  needs.link(entries);
  const by = Object.fromEntries(entries.map((e) => [e.spec.name, e]));
  return { needs, by };
}

const ended = (name: string, status: 'succeeded' | 'failed' | 'timed_out', excluded = false) => ({
  ...unranRecord(jobs([name])[0]!, 'skipped', '', 7),
  reason: undefined,
  status,
  excluded,
});

describe('Needs', () => {
  it('counts each job’s needs and rejects a need that names no job', () => {
    const { by } = graph(['a'], ['b'], ['c', { needs: ['a', 'b'] }]);
    expect(by.c!.waiting).toBe(2);
    expect(by.a!.dependents.map((e) => e.spec.name)).toEqual(['c']);
    expect(() => graph(['a', { needs: ['nope'] }])).toThrow('job "a" needs unknown job "nope"');
  });

  it('releases a dependant only once every need succeeded', () => {
    const { needs, by } = graph(['a'], ['b'], ['c', { needs: ['a', 'b'] }]);
    expect(needs.settle(by.a!, ended('a', 'succeeded'), undefined).ready).toEqual([]);
    const { ready, blocked } = needs.settle(by.b!, ended('b', 'succeeded'), undefined);
    expect(ready.map((e) => e.spec.name)).toEqual(['c']);
    expect(blocked).toEqual([]);
  });

  it('blocks dependants of a failure with the reason, or cancels them while the run stops', () => {
    const t = graph(['a'], ['b', { needs: ['a'] }]);
    const { blocked } = t.needs.settle(t.by.a!, ended('a', 'timed_out'), undefined);
    expect(blocked.map(([entry]) => entry.spec.name)).toEqual(['b']);
    expect(blocked[0]![1]).toMatchObject({
      status: 'skipped',
      reason: 'need "a" timed out',
      endedAt: 7,
    });
    const u = graph(['a'], ['b', { needs: ['a'] }]);
    const stopped = u.needs.settle(u.by.a!, ended('a', 'failed'), 'interrupted by SIGINT');
    expect(stopped.blocked[0]![1]).toMatchObject({
      status: 'cancelled',
      reason: 'interrupted by SIGINT',
    });
  });

  it('passes exclusion on to dependants and settles a job only once', () => {
    const { needs, by } = graph(['a'], ['b', { needs: ['a'] }]);
    const { blocked } = needs.settle(by.a!, ended('a', 'failed', true), undefined);
    expect(blocked[0]![1]).toMatchObject({ status: 'skipped', excluded: true });
    expect(needs.settle(by.a!, ended('a', 'failed'), undefined).blocked).toEqual([]);
  });
});
