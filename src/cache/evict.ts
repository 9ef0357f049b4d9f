/**
 * `--cache-max`: keeps the cache under a size by dropping the least recently used
 * entries (an entry is used when stored or restored), and the blobs no entry left
 * names. Leftover temporary files of writers that died are removed first (not counted:
 * what is left there is being written, and counts once it is stored).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CacheEntry, CacheStore } from './store.js';

interface Listed {
  file: string;
  size: number;
  usedAt: number;
  blobs: string[];
}

/** Shrinks the cache in `store` to at most `maxBytes`; returns how many entries went. */
export async function evict(store: CacheStore, maxBytes: number): Promise<number> {
  await store.removeDeadTemps();
  const entries = await listEntries(path.join(store.dir, 'entries'));
  const blobSizes = new Map<string, number>();
  for (const name of await readdir(path.join(store.dir, 'blobs'))) {
    const stat = await fs.promises.stat(store.blobPath(name)).catch(() => undefined);
    if (stat) blobSizes.set(name, stat.size);
  }
  const refs = new Map<string, number>();
  for (const e of entries) for (const b of e.blobs) refs.set(b, (refs.get(b) ?? 0) + 1);
  let total = entries.reduce((sum, e) => sum + e.size, 0);
  for (const size of blobSizes.values()) total += size;
  entries.sort((a, b) => a.usedAt - b.usedAt);
  let removed = 0;
  for (const entry of entries) {
    if (total <= maxBytes) break;
    await fs.promises.rm(entry.file, { force: true });
    total -= entry.size;
    removed++;
    for (const blob of entry.blobs) {
      const left = (refs.get(blob) ?? 1) - 1;
      refs.set(blob, left);
      if (left > 0) continue;
      await fs.promises.rm(store.blobPath(blob), { force: true });
      total -= blobSizes.get(blob) ?? 0;
    }
  }
  return removed;
}

async function listEntries(dir: string): Promise<Listed[]> {
  const out: Listed[] = [];
  for (const name of await readdir(dir)) {
    const file = path.join(dir, name);
    try {
      const stat = await fs.promises.stat(file);
      const entry = JSON.parse(await fs.promises.readFile(file, 'utf8')) as CacheEntry;
      const blobs = [...new Set(entry.outputs.map((o) => o.sha))];
      out.push({ file, size: stat.size, usedAt: stat.mtimeMs, blobs });
    } catch {
      // removed meanwhile by another run, or not an entry: not counted
    }
  }
  return out;
}

async function readdir(dir: string): Promise<string[]> {
  return fs.promises.readdir(dir).catch(() => []);
}
