import { describe, expect, it } from 'vitest';
import { Admission, type Admit } from '../../src/core/admission.js';
import { newEntry, type Entry } from '../../src/core/entry.js';
import { Needs } from '../../src/core/needs.js';
import type { CacheHook } from '../../src/core/cache-hook.js';
import type { SchedulerOptions } from '../../src/core/scheduler-options.js';
import type { JobRecord } from '../../src/model/events.js';
import type { JobSpec } from '../../src/model/job.js';
import { job, jobs } from './harness.js';

type Rules = Pick<SchedulerOptions, 'selected' | 'alreadyDone' | 'cache'>;

/**
 * Admission over real needs, with a host that ends jobs (and their dependants) as the
 * scheduler does; `expands` gives the jobs a stage makes as the job of that name ends.
 */
function setup(rules: Rules = {}, expands: (name: string) => JobSpec[] = () => []) {
  const needs = new Needs();
  const log = { added: 0, pumps: 0, queued: [] as string[], ended: [] as JobRecord[] };
  const byName = new Map<string, Entry>();
  const host: Admit = {
    added: () => log.added++,
    end(entry, record) {
      byName.set(entry.spec.name, entry);
      entry.status = record.status;
      log.ended.push(record);
      for (const [dependent, skip] of needs.settle(entry, record, undefined).blocked) {
        if (dependent.status === 'pending') host.end(dependent, skip);
      }
      for (const spec of expands(entry.spec.name))
        admission.expanded(newEntry(spec), record.endedAt, undefined);
    },
    enqueue(entry) {
      byName.set(entry.spec.name, entry);
      entry.status = 'queued';
      log.queued.push(entry.spec.name);
    },
    pump: () => log.pumps++,
  };
  const admission = new Admission(rules, needs, host);
  const ended = (name: string) => log.ended.find((r) => r.name === name);
  return { admission, needs, log, byName, ended };
}

/** A cache that records the order in which resumed jobs get their keys. */
function keyOrder(): { keyed: string[]; cache: CacheHook } {
  const keyed: string[] = [];
  const cache: CacheHook = {
    check: () => Promise.resolve(undefined),
    resumed: (spec) => keyed.push(spec.name),
    succeeded: () => Promise.resolve(),
  };
  return { keyed, cache };
}

describe('Admission of a manifest', () => {
  it('leaves out --only’s jobs with their dependants before any is resumed or queued', () => {
    const t = setup({
      selected: (spec) => spec.name !== 'a',
      alreadyDone: (spec) => spec.name === 'b' || spec.name === 'c',
    });
    t.admission.all(jobs(['a'], ['b', { needs: ['a'] }], ['c'], ['d']), 7);
    expect(t.log.added).toBe(4);
    expect(t.ended('a')).toMatchObject({ status: 'skipped', excluded: true });
    // b was done in an earlier run, but it is left out with a: never counted as resumed
    expect(t.ended('b')).toMatchObject({ status: 'skipped', excluded: true });
    expect(t.ended('c')).toMatchObject({
      status: 'succeeded',
      reason: 'succeeded in an earlier run',
      attempts: [],
      endedAt: 7,
    });
    expect(t.log.queued).toEqual(['d']);
    expect(t.log.pumps).toBe(1);
  });

  it('queues only the jobs whose needs are all met; the rest wait', () => {
    const t = setup();
    t.admission.all(jobs(['a'], ['b'], ['c', { needs: ['a', 'b'] }]), 0);
    expect(t.log.queued).toEqual(['a', 'b']);
    expect(t.log.ended).toEqual([]);
    expect([...t.needs.entries()].find((e) => e.spec.name === 'c')?.waiting).toBe(2);
  });
});

describe('Admission of jobs done in an earlier run (--resume)', () => {
  // a key made before a need's names the need "not cached": it and its dependants would miss
  it('resumes (and keys) each job after the jobs it needs, whatever the file order', () => {
    const { keyed, cache } = keyOrder();
    const t = setup({ alreadyDone: () => true, cache });
    t.admission.all(jobs(['a', { needs: ['b'] }], ['c', { needs: ['a'] }], ['b']), 0);
    expect(keyed).toEqual(['b', 'a', 'c']);
    expect(t.log.ended.map((r) => [r.name, r.status])).toEqual([
      ['b', 'succeeded'],
      ['a', 'succeeded'],
      ['c', 'succeeded'],
    ]);
    expect(t.log.queued).toEqual([]);
  });

  it('resumes a stage’s job after a job its item needs, though that job comes later in the file', () => {
    const { keyed, cache } = keyOrder();
    const stage = (name: string) =>
      name === 'src' ? [job('x-a', { needs: ['src', 'prep-a'] })] : [];
    const t = setup({ alreadyDone: () => true, cache }, stage);
    t.admission.all(jobs(['src'], ['prep-a']), 0);
    expect(keyed).toEqual(['src', 'prep-a', 'x-a']);
    expect(t.ended('x-a')).toMatchObject({ status: 'succeeded' });
  });

  it('still resumes a job whose need runs in this run, as the file lists it', () => {
    const t = setup({ alreadyDone: (spec) => spec.name !== 'b' });
    t.admission.all(jobs(['a', { needs: ['b'] }], ['b'], ['c', { needs: ['a'] }]), 0);
    expect(t.log.ended.map((r) => r.name)).toEqual(['a', 'c']);
    expect(t.log.queued).toEqual(['b']);
  });
});

describe('Admission of a stage’s jobs and of streamed jobs', () => {
  it('queues a ready stage job, resumes a done one, and holds one that waits', () => {
    const t = setup({ alreadyDone: (spec) => spec.name === 'done' });
    t.admission.expanded(newEntry(job('a')), 0, undefined);
    expect(t.log).toMatchObject({ queued: ['a'], pumps: 0 });
    t.admission.expanded(newEntry(job('b', { needs: ['a'] })), 0, undefined);
    t.admission.expanded(newEntry(job('done')), 3, undefined);
    expect(t.log).toMatchObject({ queued: ['a'], pumps: 0 });
    expect(t.ended('done')).toMatchObject({ status: 'succeeded', endedAt: 3 });
    expect(t.ended('b')).toBeUndefined();
  });

  it('ends a stage job whose need already failed: skipped, or cancelled while the run stops', () => {
    const t = setup();
    t.admission.expanded(newEntry(job('a')), 0, undefined);
    t.byName.get('a')!.status = 'failed';
    t.admission.expanded(newEntry(job('b', { needs: ['a'] })), 1, undefined);
    t.admission.expanded(newEntry(job('c', { needs: ['a'] })), 2, 'interrupted by SIGINT');
    t.admission.expanded(newEntry(job('d', { needs: ['nope'] })), 3, undefined);
    expect(t.ended('b')).toMatchObject({ status: 'skipped', reason: 'need "a" failed' });
    expect(t.ended('c')).toMatchObject({ status: 'cancelled', reason: 'interrupted by SIGINT' });
    expect(t.ended('d')).toMatchObject({ status: 'skipped', reason: 'needs unknown job "nope"' });
    expect(t.log.queued).toEqual(['a']);
  });

  it('ends a stage job its item made refused: failed, with the message, and never queued', () => {
    const t = setup();
    const why = 'priority "{}" of job s-high: "high" is not an integer';
    t.admission.expanded(newEntry(job('s-high', { refused: why })), 4, undefined);
    t.admission.expanded(newEntry(job('after', { needs: ['s-high'] })), 5, undefined);
    t.admission.expanded(newEntry(job('s-1')), 6, undefined);
    expect(t.ended('s-high')).toMatchObject({ status: 'failed', reason: why, attempts: [] });
    expect(t.ended('after')).toMatchObject({ status: 'skipped', reason: 'need "s-high" failed' });
    expect(t.log.queued).toEqual(['s-1']);
  });

  it('keeps no streamed job (stdin lines) by name, so memory stays flat', () => {
    const t = setup();
    for (let i = 0; i < 3; i++) t.admission.one(job(`line${i}`), 0);
    expect(t.log).toMatchObject({ added: 3, queued: ['line0', 'line1', 'line2'], pumps: 3 });
    expect([...t.needs.entries()]).toEqual([]);
  });
});
