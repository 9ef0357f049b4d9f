import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { keyChanges } from '../../src/cache/explain.js';
import { FileHasher, sha256 } from '../../src/cache/hasher.js';
import { computeKey } from '../../src/cache/key.js';
import type { JobCacheSpec, JobSpec } from '../../src/model/job.js';
import { job } from '../core/harness.js';

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-key-'));
  fs.mkdirSync(path.join(root, 'data'));
  fs.writeFileSync(path.join(root, 'data/a.csv'), 'a\n');
  fs.writeFileSync(path.join(root, 'data/b.csv'), 'b\n');
});

function cached(extra: Partial<JobSpec> = {}, cache: Partial<JobCacheSpec> = {}): JobSpec {
  return job('convert', {
    command: 'convert data/a.csv',
    cwd: root,
    ...extra,
    cache: { inputs: ['data/*.csv'], outputs: [], env: ['API_URL'], root, ...cache },
  });
}

async function keyOf(spec: JobSpec, environ: NodeJS.ProcessEnv = {}) {
  if (!spec.cache) throw new Error('not cached');
  return computeKey(spec, spec.cache, new FileHasher(), environ);
}

/** The explanation of going from `a` to `b`. */
async function changes(a: JobSpec, b: JobSpec, envA = {}, envB = envA): Promise<string[]> {
  return keyChanges((await keyOf(a, envA)).parts, (await keyOf(b, envB)).parts);
}

describe('computeKey', () => {
  it('is the same for the same job and contents, whatever the files’ times', async () => {
    const first = await keyOf(cached());
    const later = new Date(Date.now() + 3_600_000);
    fs.utimesSync(path.join(root, 'data/a.csv'), later, later);
    expect((await keyOf(cached())).key).toBe(first.key);
  });

  it('changes with an input’s content, and says which', async () => {
    const before = await keyOf(cached());
    fs.writeFileSync(path.join(root, 'data/a.csv'), 'A\n');
    const after = await keyOf(cached());
    expect(after.key).not.toBe(before.key);
    expect(keyChanges(before.parts, after.parts)).toEqual(['input data/a.csv: content changed']);
  });

  it('names a changed command, shell, folder and env: value', async () => {
    expect(await changes(cached(), cached({ command: 'convert data/b.csv' }))).toEqual([
      'command: changed',
    ]);
    expect(await changes(cached(), cached({ shell: '/bin/bash' }))).toEqual(['shell: changed']);
    fs.mkdirSync(path.join(root, 'sub'));
    const moved = cached({ cwd: path.join(root, 'sub') }, { inputs: [] });
    expect(await changes(cached({}, { inputs: [] }), moved)).toEqual(['folder: changed']);
    expect(await changes(cached({ env: { MODE: 'a' } }), cached({ env: { MODE: 'b' } }))).toEqual([
      'env MODE: changed',
    ]);
  });

  it('keys a declared variable of the environment, missing as missing', async () => {
    const spec = cached();
    expect(await changes(spec, spec, { API_URL: 'http://a' }, { API_URL: 'http://b' })).toEqual([
      'env API_URL: changed',
    ]);
    expect(await changes(spec, spec, {}, { API_URL: '' })).toEqual(['env API_URL: now present']);
    expect(await changes(spec, spec, { API_URL: 'x' }, {})).toEqual(['env API_URL: now missing']);
    // a variable that is not declared is not part of the key
    expect(await changes(spec, spec, { OTHER: '1' }, { OTHER: '2' })).toEqual([]);
  });

  it('keys a value by its bytes: two that are not UTF-8 differ, a UTF-8 one keys as before', async () => {
    const spec = cached();
    // \uDCFF and \uDCFE: the bytes 0xff and 0xfe as base-env.ts restores them
    const [ff, fe] = [{ API_URL: 'a\uDCFF' }, { API_URL: 'a\uDCFE' }];
    expect(await changes(spec, spec, ff, fe)).toEqual(['env API_URL: changed']);
    expect(
      await changes(cached({ env: { M: '\uDCFF' } }), cached({ env: { M: '\uDCFE' } })),
    ).toEqual(['env M: changed']);
    const text = await keyOf(spec, { API_URL: 'café' });
    expect(text.parts['env API_URL']).toBe(sha256('café'));
  });

  it('follows a symlink to its target’s contents', async () => {
    fs.writeFileSync(path.join(root, 'v1.txt'), 'one\n');
    fs.writeFileSync(path.join(root, 'v2.txt'), 'two\n');
    fs.symlinkSync('../v1.txt', path.join(root, 'data/current'));
    const spec = cached({}, { inputs: ['data/current'] });
    const before = await keyOf(spec);
    fs.rmSync(path.join(root, 'data/current'));
    fs.symlinkSync('../v2.txt', path.join(root, 'data/current'));
    const after = await keyOf(spec);
    expect(keyChanges(before.parts, after.parts)).toEqual(['input data/current: content changed']);
    // another link to the same bytes is the same key: contents count, not links
    fs.writeFileSync(path.join(root, 'v3.txt'), 'two\n');
    fs.rmSync(path.join(root, 'data/current'));
    fs.symlinkSync('../v3.txt', path.join(root, 'data/current'));
    expect((await keyOf(spec)).key).toBe(after.key);
  });

  it('counts a folder’s listing and everything in it', async () => {
    const spec = cached({}, { inputs: ['data'] });
    const before = await keyOf(spec);
    fs.writeFileSync(path.join(root, 'data/c.csv'), '');
    const after = await keyOf(spec);
    expect(keyChanges(before.parts, after.parts)).toEqual([
      'folder data: listing changed',
      'input data/c.csv: new',
    ]);
  });

  it('keys an input whose item name has escaped glob characters as that one file', async () => {
    fs.writeFileSync(path.join(root, 'data/a?.csv'), 'q\n');
    const { parts } = await keyOf(cached({}, { inputs: ['data/a\\?.csv'] }));
    expect(Object.keys(parts).filter((p) => p.startsWith('input '))).toEqual(['input data/a?.csv']);
  });

  it('keys a missing input as missing, and a glob item file as an input', async () => {
    const spec = cached({}, { inputs: ['nothing.txt'], files: ['data/b.csv'] });
    const { parts } = await keyOf(spec);
    expect(parts['input nothing.txt']).toBe('missing');
    expect(parts['input data/b.csv']).toMatch(/^[0-9a-f]{64}$/);
  });

  it('includes the keys of the job’s needs', async () => {
    const spec = cached({ needs: ['build'] });
    if (!spec.cache) throw new Error('not cached');
    const hasher = new FileHasher();
    const a = await computeKey(spec, spec.cache, hasher, {}, { build: 'k1' });
    const b = await computeKey(spec, spec.cache, hasher, {}, { build: 'k2' });
    expect(keyChanges(a.parts, b.parts)).toEqual(['need build: changed']);
  });

  it('hashes the contents of a file whose name is not UTF-8', async () => {
    const raw = Buffer.concat([Buffer.from(path.join(root, 'data/caf')), Buffer.of(0xe9)]);
    fs.writeFileSync(raw, 'one');
    const spec = cached({}, { inputs: ['data/caf*'] });
    const before = await keyOf(spec);
    const label = Object.keys(before.parts).find((l) => l.startsWith('input data/caf'));
    expect(label && before.parts[label]).toMatch(/^[0-9a-f]{64}$/);
    fs.writeFileSync(raw, 'two');
    expect((await keyOf(spec)).key).not.toBe(before.key);
  });

  it('reads each file once per run however many jobs name it', async () => {
    const hasher = new FileHasher();
    for (let i = 0; i < 5; i++) {
      const spec = cached({ command: `job ${i}` });
      if (spec.cache) await computeKey(spec, spec.cache, hasher, {});
    }
    expect(hasher.reads).toBe(2);
  });
});
