import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePayload, toPayload } from '../../src/backends/payload.js';
import { badPoolName } from '../../src/backends/redis-names.js';
import { logDirFor } from '../../src/backends/redis-worker.js';
import { WorkerSlots } from '../../src/backends/worker-slots.js';
import { resolveRedisUrl } from '../../src/cli/redis-url-source.js';
import { UsageError } from '../../src/errors.js';
import { job } from '../core/harness.js';

describe('what a payload can say about paths', () => {
  const payload = toPayload('abc.run1', job('a'), undefined, '/repo');

  it('refuses run keys that are not one plain folder name', () => {
    for (const runKey of ['..', '.', '../x', 'a/b', '/abs', '']) {
      const parsed = parsePayload({ ...payload, runKey });
      expect('reason' in parsed, runKey).toBe(true);
    }
    expect('payload' in parsePayload(payload)).toBe(true);
  });

  it('keeps a run’s log folder directly inside the logs folder', () => {
    expect(logDirFor('/logs', 'abc.run1')).toBe('/logs/abc.run1');
    expect(() => logDirFor('/logs', '..')).toThrow();
    expect(() => logDirFor('/logs', 'a/../../etc')).toThrow();
  });
});

describe('pool names on Redis', () => {
  it('accepts plain names and refuses what would break a queue name', () => {
    expect(badPoolName('cpu')).toBeUndefined();
    expect(badPoolName('gpu-a100.x_1')).toBeUndefined();
    for (const bad of ['bad:name', '', '.hidden', 'a b', 'x'.repeat(101)])
      expect(badPoolName(bad), bad).toBeDefined();
  });
});

describe('the Redis URL, out of argv', () => {
  const warnings: string[] = [];
  const warn = (line: string) => warnings.push(line);

  it('warns about a password on the command line, not about one without', () => {
    warnings.length = 0;
    expect(resolveRedisUrl('redis://:pw@h:1', undefined, warn, 'x')).toBe('redis://:pw@h:1');
    expect(warnings.join()).toMatch(/visible to every user.*JOBRUN_REDIS_URL.*--redis-url-file/);
    expect(warnings.join()).not.toContain('pw@');
    warnings.length = 0;
    resolveRedisUrl('redis://h:1', undefined, warn, 'x');
    expect(warnings).toEqual([]);
  });

  it('reads the first line of --redis-url-file, and names the file (not its content) on errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-url-'));
    const file = path.join(dir, 'url');
    fs.writeFileSync(file, '\n  redis://:pw@h:1  \n');
    expect(resolveRedisUrl(undefined, file, warn, 'x')).toBe('redis://:pw@h:1');
    fs.writeFileSync(file, '\n');
    expect(() => resolveRedisUrl(undefined, file, warn, 'x')).toThrow(/is empty/);
    expect(() => resolveRedisUrl(undefined, path.join(dir, 'none'), warn, 'x')).toThrow(UsageError);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('WorkerSlots (-j for the whole worker, gates on its machine)', () => {
  it('hands out at most size slots, the next one when a slot is released', async () => {
    const slots = new WorkerSlots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    let third: number | undefined;
    const pending = slots.acquire().then((s) => (third = s));
    await new Promise((r) => setImmediate(r));
    expect(third).toBeUndefined();
    expect(slots.inUse).toBe(2);
    slots.release(a);
    await pending;
    expect(third).toBe(a);
    slots.release(b);
    slots.release(third!);
    expect(slots.inUse).toBe(0);
  });

  it('holds starts while the machine is above --max-load', async () => {
    let load = 9;
    const slots = new WorkerSlots(1, { maxLoad: 2 }, { loadavg1: () => load, freemem: () => 1e12 });
    let got = false;
    const pending = slots.acquire().then(() => (got = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(got).toBe(false);
    load = 1;
    await pending;
    expect(got).toBe(true);
  });
});
