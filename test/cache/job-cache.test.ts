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
});
