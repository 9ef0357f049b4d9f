import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { evict } from '../../src/cache/evict.js';
import { CacheStore } from '../../src/cache/store.js';

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-store-'));
}

/** Stores an entry `key` whose one output holds `content`, used `ageS` seconds ago. */
async function put(store: CacheStore, work: string, key: string, content: string, ageS: number) {
  const file = path.join(work, `${key}.out`);
  fs.writeFileSync(file, content);
  const out = await store.saveBlob(file, `${key}.out`);
  await store.write({ version: 1, name: key, key, parts: {}, outputs: [out], savedAt: 0 });
  const at = new Date(Date.now() - ageS * 1000);
  fs.utimesSync(path.join(store.dir, 'entries', `${key}.json`), at, at);
}

describe('evict (--cache-max)', () => {
  it('drops the least recently used entries until the store fits, and their blobs', async () => {
    const store = new CacheStore(tmp());
    const work = tmp();
    await put(store, work, 'old', 'a'.repeat(10_000), 300);
    await put(store, work, 'mid', 'b'.repeat(10_000), 200);
    await put(store, work, 'new', 'c'.repeat(10_000), 100);
    // a hit makes an entry recently used
    await store.touch('old');
    const removed = await evict(store, 25_000);
    expect(removed).toBe(1);
    expect(await store.read('mid')).toBeUndefined();
    expect(await store.read('old')).toBeDefined();
    expect(await store.read('new')).toBeDefined();
    expect(fs.readdirSync(path.join(store.dir, 'blobs'))).toHaveLength(2);
  });

  it('keeps a blob another entry still names', async () => {
    const store = new CacheStore(tmp());
    const work = tmp();
    await put(store, work, 'one', 'same bytes', 200);
    await put(store, work, 'two', 'same bytes', 100);
    await evict(store, 1);
    expect(fs.readdirSync(path.join(store.dir, 'entries'))).toEqual([]);
    expect(fs.readdirSync(path.join(store.dir, 'blobs'))).toEqual([]);
    await put(store, work, 'one', 'same bytes', 200);
    await put(store, work, 'two', 'same bytes', 100);
    const entryBytes = fs.statSync(path.join(store.dir, 'entries', 'two.json')).size;
    await evict(store, entryBytes + 'same bytes'.length);
    expect(await store.read('two')).toBeDefined();
    expect(fs.readdirSync(path.join(store.dir, 'blobs'))).toHaveLength(1);
  });
});

describe('temporary files of writers that died', () => {
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');
  /** A pid of this machine that is gone: a process that ran and was reaped. */
  const deadPid = () => spawnSync('true').pid;

  it('removes those of a dead process of this machine once quiet, and any a day old', async () => {
    const store = new CacheStore(tmp());
    const temps = path.join(store.dir, 'tmp');
    fs.mkdirSync(temps);
    const dead = deadPid();
    const files = {
      dead: `${host}.${dead}.0123456789ab`,
      mine: `${host}.${process.pid}.0123456789ab`,
      elsewhere: `other-host.${dead}.0123456789ab`,
      old: `other-host.${dead}.ba9876543210`,
    };
    for (const name of Object.values(files))
      fs.writeFileSync(path.join(temps, name), 'x'.repeat(1000));
    const twoDays = new Date(Date.now() - 2 * 86_400_000);
    fs.utimesSync(path.join(temps, files.old), twoDays, twoDays);
    // a writer in another pid namespace looks dead too: its file, still new, is kept
    expect(await store.removeDeadTemps()).toEqual({ files: 1, bytes: 1000 });
    expect(fs.existsSync(path.join(temps, files.dead))).toBe(true);
    // a minute on, still unchanged: its writer is gone
    expect(await store.removeDeadTemps(Date.now() + 120_000)).toEqual({ files: 1, bytes: 1000 });
    expect(fs.readdirSync(temps).sort()).toEqual([files.mine, files.elsewhere].sort());
  });

  it('are removed by --cache-max, which counts only what is stored', async () => {
    const store = new CacheStore(tmp());
    const work = tmp();
    await put(store, work, 'kept', 'k', 10);
    const leftover = path.join(store.dir, 'tmp', `${host}.${deadPid()}.0123456789ab`);
    fs.writeFileSync(leftover, 'x'.repeat(100_000));
    const quiet = new Date(Date.now() - 120_000);
    fs.utimesSync(leftover, quiet, quiet);
    expect(await evict(store, 10_000)).toBe(0);
    expect(fs.existsSync(leftover)).toBe(false);
    expect(await store.read('kept')).toBeDefined();
  });
});
