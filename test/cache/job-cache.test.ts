import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JobCache } from '../../src/cache/job-cache.js';
import { CacheStore, type CacheEntry } from '../../src/cache/store.js';
import type { JobRecord } from '../../src/model/events.js';
import { job } from '../core/harness.js';

function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-jobcache-'));
  const work = path.join(root, 'work');
  fs.mkdirSync(work);
  const warnings: string[] = [];
  const cache = new JobCache(new CacheStore(path.join(root, 'cache')), {
    warn: (m) => warnings.push(m),
    environ: {},
  });
  const spec = job('make', {
    cwd: work,
    cache: { inputs: [], outputs: ['out.txt'], env: [], root: work },
  });
  return { root, work, cache, spec, warnings };
}

const record = { status: 'succeeded', result: 'made' } as unknown as JobRecord;

describe('JobCache', () => {
  it('stores a success and restores it, result included', async () => {
    const { work, cache, spec } = setup();
    expect(await cache.check(spec)).toBeUndefined();
    fs.writeFileSync(path.join(work, 'out.txt'), 'content');
    cache.succeeded(spec, record);
    await cache.settle();
    fs.rmSync(path.join(work, 'out.txt'));
    expect(await cache.check(spec)).toMatchObject({ result: 'made' });
    expect(fs.readFileSync(path.join(work, 'out.txt'), 'utf8')).toBe('content');
  });

  it('refuses an entry (from a shared cache) that would write outside the job’s folder', async () => {
    const { root, work, cache, spec } = setup();
    await cache.check(spec);
    fs.writeFileSync(path.join(work, 'out.txt'), 'content');
    cache.succeeded(spec, record);
    await cache.settle();
    const entries = path.join(root, 'cache', 'entries');
    for (const name of fs.readdirSync(entries)) {
      const file = path.join(entries, name);
      const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheEntry;
      for (const out of entry.outputs) out.path = '../evil.txt';
      fs.writeFileSync(file, JSON.stringify(entry));
    }
    fs.rmSync(path.join(work, 'out.txt'));
    expect(await cache.check(spec)).toBeUndefined();
    expect(fs.existsSync(path.join(root, 'evil.txt'))).toBe(false);
  });

  it('never stores the file a restore cut short left among the outputs', async () => {
    const { work, cache } = setup();
    fs.mkdirSync(path.join(work, 'out'));
    fs.writeFileSync(path.join(work, 'out', 'a.txt'), 'made');
    // what a run killed while it restored out/b.txt left beside it
    fs.writeFileSync(path.join(work, 'out', '.jobrun-restore.host.4242.0123456789ab.tmp'), 'ha');
    const spec = job('make', {
      cwd: work,
      cache: { inputs: [], outputs: ['out/*'], env: [], root: work },
    });
    await cache.check(spec);
    await cache.succeeded(spec, record);
    const entry = await cache.store.read(cache.keyOf(spec) ?? '');
    expect(entry?.outputs.map((o) => o.path)).toEqual([path.join('out', 'a.txt')]);
  });

  it('refuses an entry that would write into jobrun’s own .jobrun folder', async () => {
    const { work, cache, spec } = setup();
    await cache.check(spec);
    fs.writeFileSync(path.join(work, 'out.txt'), 'content');
    await cache.succeeded(spec, record);
    const file = path.join(cache.store.dir, 'entries', `${cache.keyOf(spec)}.json`);
    const entry = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheEntry;
    // as an older release stored a glob that took the journal in
    for (const out of entry.outputs) out.path = '.jobrun/journal/x.ndjson';
    fs.writeFileSync(file, JSON.stringify(entry));
    expect(await cache.check(spec)).toBeUndefined();
    expect(fs.existsSync(path.join(work, '.jobrun'))).toBe(false);
  });

  it('stores the one file an escaped item name names, never a sibling it would match as a glob', async () => {
    const { root, work, cache } = setup();
    fs.mkdirSync(path.join(work, 'out'));
    fs.mkdirSync(path.join(work, 'out', 'd[1]'));
    for (const name of ['a1.n', 'a?.n', 'ab.n', 'd[1]/x', 'd1']) {
      fs.writeFileSync(path.join(work, 'out', name), name);
    }
    const stored = async (outputs: string[]) => {
      const spec = job(`make ${outputs.join()}`, {
        cwd: work,
        cache: { inputs: [], outputs, env: [], root: work },
      });
      await cache.check(spec);
      cache.succeeded(spec, record);
      await cache.settle();
      const entry = await cache.store.read(cache.keyOf(spec) ?? '');
      return entry?.outputs.map((o) => o.path);
    };
    // what substituteGlob makes of out/{base}.n for the item a?, and of out/{base} for d[1]
    expect(await stored(['out/a\\?.n'])).toEqual(['out/a?.n']);
    expect(await stored(['out/d\\[1\\]'])).toEqual(['out/d[1]/x']);
    // the template's own glob characters stay globs
    expect(await stored(['out/a?.n'])).toEqual(['out/a1.n', 'out/a?.n', 'out/ab.n']);
    expect(fs.readdirSync(path.join(root, 'cache', 'tmp'))).toEqual([]);
  });
});
