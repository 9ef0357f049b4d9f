import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePayload, toPayload, type JobPayload } from '../../src/backends/payload.js';
import { RemoteCache } from '../../src/backends/redis-cache.js';
import { WorkerCache } from '../../src/backends/worker-cache.js';
import { JobCache } from '../../src/cache/job-cache.js';
import { CacheStore } from '../../src/cache/store.js';
import type { AttemptResult } from '../../src/model/attempt.js';
import { jobVariables } from '../../src/model/job-env.js';
import type { JobSpec } from '../../src/model/job.js';
import { job } from '../core/harness.js';

const dirs: string[] = [];
function temp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-worker-cache-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A job with `cache` in `root/sub`, reading `a.txt` and making `out.txt`. */
function cachedJob(root: string, extra: Partial<JobSpec> = {}): JobSpec {
  return job('make', {
    cwd: path.join(root, 'sub'),
    env: { LEVEL: '3' },
    cache: { inputs: ['a.txt'], outputs: ['out.txt'], env: ['API_URL'], root },
    ...extra,
  });
}

/** The payload as the coordinator sends it and the worker reads it back from Redis. */
async function shipped(
  spec: JobSpec,
  coordinatorDir: string,
  cache: RemoteCache,
): Promise<JobPayload> {
  // as RemoteDispatch adds them: the worker must leave them out of the key
  const sent = { ...spec, env: { ...spec.env, ...jobVariables(spec, 'run-1') } };
  const payload = toPayload('run-1', sent, undefined, coordinatorDir);
  Object.assign(payload, await cache.payloadOf(sent));
  const parsed = parsePayload(JSON.parse(JSON.stringify(payload)));
  if (!('payload' in parsed)) throw new Error(parsed.reason);
  return parsed.payload;
}

const success: AttemptResult = {
  attempt: 1,
  startedAt: 0,
  durationMs: 5,
  exitCode: 0,
  timedOut: false,
  worker: 'w:1/1',
  result: 'made',
};

describe('WorkerCache', () => {
  it('makes the key a local run makes: a worker in another checkout hits a local entry and restores it there', async () => {
    const here = temp();
    const cacheDir = path.join(temp(), 'cache');
    fs.mkdirSync(path.join(here, 'sub'));
    fs.writeFileSync(path.join(here, 'sub/a.txt'), 'input');
    fs.writeFileSync(path.join(here, 'sub/out.txt'), 'output');
    fs.chmodSync(path.join(here, 'sub/out.txt'), 0o750);
    const local = new JobCache(new CacheStore(cacheDir), { warn: () => {}, environ: {} });
    const spec = cachedJob(here);
    expect(await local.check(spec)).toBeUndefined();
    local.succeeded(spec, { result: 'made' });
    await local.settle();

    // the worker's checkout: same layout, another place, no output yet
    const there = temp();
    fs.mkdirSync(path.join(there, 'sub'));
    fs.writeFileSync(path.join(there, 'sub/a.txt'), 'input');
    const worker = new WorkerCache({ dir: cacheDir, baseDir: there, log: () => {} });
    const lookup = await worker.lookup(
      await shipped(spec, here, new RemoteCache({ warn: () => {} })),
      1,
      'w:1/1',
    );
    expect(lookup?.hit).toMatchObject({ exitCode: 0, worker: 'w:1/1', result: 'made' });
    expect(lookup?.hit?.cached).toMatch(/^unchanged since /);
    expect(lookup?.hit?.cache?.key).toBe(local.keyOf(spec));
    expect(fs.readFileSync(path.join(there, 'sub/out.txt'), 'utf8')).toBe('output');
    expect(fs.statSync(path.join(there, 'sub/out.txt')).mode & 0o777).toBe(0o750);
  });

  it('says why a job runs, stores it after its success, and hits it next time', async () => {
    const dir = temp();
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub/a.txt'), 'one');
    const worker = new WorkerCache({ dir: path.join(dir, 'c'), baseDir: dir, log: () => {} });
    const remote = new RemoteCache({ explain: () => {}, warn: () => {} });
    const spec = cachedJob(dir);
    const first = await worker.lookup(await shipped(spec, dir, remote), 1, 'w:1/1');
    expect(first?.hit).toBeUndefined();
    expect(first?.why).toEqual(['no earlier entry']);
    fs.writeFileSync(path.join(dir, 'sub/out.txt'), 'made');
    const ended = await first!.stored(success);
    expect(ended.cache?.key).toMatch(/^[0-9a-f]{64}$/);
    expect((await worker.lookup(await shipped(spec, dir, remote), 1, 'w:1/2'))?.hit?.result).toBe(
      'made',
    );

    fs.writeFileSync(path.join(dir, 'sub/a.txt'), 'two');
    const changed = await worker.lookup(await shipped(spec, dir, remote), 1, 'w:1/1');
    expect(changed?.why).toEqual(['input a.txt: content changed']);
    // a job without `cache` is not looked up at all
    const plain = job('plain', { cwd: dir });
    expect(await worker.lookup(await shipped(plain, dir, remote), 1, 'w:1/1')).toBeUndefined();
  });
});

describe('RemoteCache', () => {
  it('keeps the key a job came back with for its dependants, strips it from the result, and says its notes', async () => {
    const warned: string[] = [];
    const remote = new RemoteCache({ warn: (line) => warned.push(line) });
    const root = '/repo';
    const need = cachedJob(root, { name: 'need' });
    const after = cachedJob(root, { name: 'after', needs: ['need', 'plain'] });
    expect((await remote.payloadOf(after)).cache?.needs).toEqual({
      need: 'not cached',
      plain: 'not cached',
    });
    const key = 'a'.repeat(64);
    const back = remote.ended(need, {
      ...success,
      cache: { key, notes: ['need: not cached: output out.txt was never produced'] },
    } as AttemptResult);
    expect(back).not.toHaveProperty('cache');
    expect(back.result).toBe('made');
    expect((await remote.payloadOf(after)).cache).toMatchObject({
      needs: { need: key, plain: 'not cached' },
      folder: 'sub',
      inputs: ['a.txt'],
      env: ['API_URL'],
    });
    expect(warned).toEqual(['need: not cached: output out.txt was never produced (on w:1/1)']);
    expect(await remote.payloadOf(job('plain'))).toEqual({});
  });

  it('keys a dependant on the key a resumed need came back with in the run resumed', async () => {
    const warned: string[] = [];
    const remote = new RemoteCache({ warn: (line) => warned.push(line) });
    const root = '/repo';
    const key = 'b'.repeat(64);
    const gone = cachedJob(root, { name: 'gone' });
    const broken = cachedJob(root, { name: 'broken' });
    remote.resumed(cachedJob(root, { name: 'need' }), () =>
      Promise.resolve({ ...success, cache: { key } }),
    );
    remote.resumed(gone, () => Promise.resolve(undefined));
    remote.resumed(broken, () => Promise.reject(new Error('no answer from Redis')));
    const after = cachedJob(root, { name: 'after', needs: ['need'] });
    expect((await remote.payloadOf(after)).cache?.needs).toEqual({ need: key });
    // a need whose end Redis no longer has (or could not read): its key is lost, and its
    // dependants run uncached, theirs too, rather than be keyed without it
    for (const lost of ['gone', 'broken']) {
      const dependant = cachedJob(root, { name: `after-${lost}`, needs: ['need', lost] });
      expect(await remote.payloadOf(dependant)).toEqual({});
    }
    const next = cachedJob(root, { name: 'next', needs: ['after-gone'] });
    expect(await remote.payloadOf(next)).toEqual({});
    expect(warned).toEqual([
      'after-gone: not cached: the key of its need gone is lost',
      'after-broken: not cached: the key of its need broken is lost',
      'next: not cached: the key of its need after-gone is lost',
    ]);
  });

  it('a worker refuses a payload whose cache part is malformed', async () => {
    const remote = new RemoteCache({ warn: () => {} });
    const spec = cachedJob('/repo');
    const payload = {
      ...toPayload('rk', spec, undefined, '/repo'),
      ...(await remote.payloadOf(spec)),
    };
    expect('payload' in parsePayload(payload)).toBe(true);
    const bad = parsePayload({ ...payload, cache: { ...payload.cache, env: ['A=B'] } });
    expect(bad).toMatchObject({ reason: expect.stringContaining('cache.env.0') });
  });
});
