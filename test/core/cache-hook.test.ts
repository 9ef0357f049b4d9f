import { describe, expect, it } from 'vitest';
import type { CacheHit, CacheHook } from '../../src/core/cache-hook.js';
import type { JobSpec } from '../../src/model/job.js';
import { FakeExecutor, jobs, startScheduler } from './harness.js';

const CACHE = { inputs: [], outputs: [], env: [], root: '/' };

/** A cache whose answers the test gives, job by job. */
class ScriptedCache implements CacheHook {
  readonly checked: string[] = [];
  readonly stored: string[] = [];
  /** Stores that resolve when the test says so (`holdStores`). */
  readonly storing = new Map<string, () => void>();
  holdStores = false;
  private readonly waiting = new Map<string, (hit: CacheHit | undefined) => void>();

  check(job: JobSpec): Promise<CacheHit | undefined> {
    this.checked.push(job.name);
    return new Promise((resolve) => this.waiting.set(job.name, resolve));
  }

  resumed(): void {}

  answer(name: string, hit: CacheHit | undefined): void {
    this.waiting.get(name)?.(hit);
  }

  succeeded(job: JobSpec): Promise<void> {
    this.stored.push(job.name);
    if (!this.holdStores) return Promise.resolve();
    return new Promise((resolve) => this.storing.set(job.name, resolve));
  }
}

function setup(specs: JobSpec[], cache: ScriptedCache) {
  return startScheduler(specs, new FakeExecutor({}), { workers: { min: 2, max: 2 }, cache });
}

const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the cache hook', () => {
  it('ends a hit cached without running it, and its dependants proceed', async () => {
    const cache = new ScriptedCache();
    const t = setup(
      jobs(['build', { cache: CACHE, command: 'true' }], ['test', { needs: ['build'] }]),
      cache,
    );
    await tick();
    cache.answer('build', { reason: 'unchanged', result: 'made' });
    const outcome = await t.done;
    expect(t.executor.starts).toEqual(['test']);
    expect(t.log.ended('build')).toMatchObject({ status: 'cached', result: 'made', attempts: [] });
    expect(outcome.summary).toMatchObject({ cached: 1, succeeded: 1 });
    expect(outcome.exitCode).toBe(0);
    expect(cache.stored).toEqual([]);
  });

  it('runs a miss and stores its success; jobs without cache are never looked up', async () => {
    const cache = new ScriptedCache();
    const t = setup(jobs(['a', { cache: CACHE }], ['b']), cache);
    await tick();
    cache.answer('a', undefined);
    await t.done;
    expect(cache.checked).toEqual(['a']);
    expect(t.executor.starts.sort()).toEqual(['a', 'b']);
    expect(cache.stored).toEqual(['a']);
  });

  it('starts a dependant only once its need’s outputs are stored', async () => {
    const cache = new ScriptedCache();
    cache.holdStores = true;
    const t = setup(
      jobs(['build', { cache: CACHE, command: 'true' }], ['test', { needs: ['build'] }]),
      cache,
    );
    await tick();
    cache.answer('build', undefined);
    // build runs (10 ms of fake work) and its store begins, and is held
    for (let i = 0; i < 400 && cache.stored.length === 0; i++) await sleep(5);
    expect(cache.stored).toEqual(['build']);
    for (let i = 0; i < 5; i++) await tick();
    expect(t.executor.starts).toEqual(['build']);
    cache.storing.get('build')?.();
    const outcome = await t.done;
    expect(t.executor.starts).toEqual(['build', 'test']);
    expect(t.log.ended('build').status).toBe('succeeded');
    expect(outcome.exitCode).toBe(0);
  });

  it('cancels a job whose lookup ends after the run was stopped', async () => {
    const cache = new ScriptedCache();
    const t = setup(jobs(['a', { cache: CACHE }], ['b', { cache: CACHE }], ['c']), cache);
    await tick();
    t.scheduler.interrupt('SIGINT');
    cache.answer('a', undefined);
    cache.answer('b', { reason: 'unchanged' });
    const outcome = await t.done;
    expect(t.executor.starts).toEqual([]);
    expect(t.log.ended('a').status).toBe('cancelled');
    // a hit has already restored its outputs: it is done
    expect(t.log.ended('b').status).toBe('cached');
    expect(t.log.ended('c').status).toBe('cancelled');
    expect(outcome.exitCode).toBe(130);
  });
});
