import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { requireRedisOrWarn } from '../backends/redis-server.js';
import { waitFor } from './helpers.js';
import { redisBatches, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-unserved.test.ts');

describe.runIf(enabled)('a Redis run that no worker serves says so', () => {
  const { url, batch } = redisBatches();

  it('names the queue no worker serves, once, within --unserved-notice', async () => {
    const b = batch();
    // a worker of pool cpu only: the run's jobs have no pool, so nothing takes them
    await startWorker(url(), ['--pool', 'cpu'], b.dir);
    let stderr = '';
    const started = Date.now();
    void b.start(['--backend', url(), '--unserved-notice', '1s'], ['a', 'b']);
    b.child!.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => stderr.includes('no worker serves'), 15_000, 'the notice');
    expect(Date.now() - started).toBeLessThan(12_000);
    await sleep(2500); // said once, not on every look
    b.child!.kill('SIGINT');
    const r = await b.result!;
    const notices = r.stderr.split('\n').filter((l) => l.includes('no worker serves'));
    expect(notices).toEqual([
      expect.stringMatching(
        /^jobrun: no worker serves this run's jobs waiting in Redis for 1s: 2 jobs without a pool; start one with: jobrun worker redis:\/\/127\.0\.0\.1:\d+ --pool '\*'$/,
      ),
    ]);
    expect(b.count('start')).toBe(0);
  });

  it('says nothing while a worker is busy with a long job and the others wait', async () => {
    const b = batch();
    await startWorker(url(), ['-j', '1'], b.dir);
    void b.start(['--backend', url(), '--unserved-notice', '1s'], ['a', 'b']);
    await b.started('a');
    await sleep(3500); // b has waited more than three times the bound
    expect(b.count('start')).toBe(1);
    b.release();
    const r = await b.result!;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/no worker serves/);
  });
});
