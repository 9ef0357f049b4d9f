import { describe, expect, it } from 'vitest';
import { UnservedWatch } from '../../src/backends/redis-unserved.js';

/** A watch of a 10 s bound on a fake clock, without its timer: each `at` is one look. */
function watch(waiting: Map<string, number>, workers: Map<string, number>) {
  let now = 0;
  const said: string[] = [];
  const w = new UnservedWatch(
    {
      afterMs: 10_000,
      waiting: () => waiting,
      workersOf: (queue) => Promise.resolve(workers.get(queue) ?? 0),
      safeUrl: 'redis://:***@queue:6379',
      say: (line) => said.push(line),
    },
    () => now,
    false,
  );
  return {
    said,
    at: async (ms: number) => {
      now = ms;
      await w.tick();
    },
    w,
  };
}

describe('UnservedWatch', () => {
  it('names each queue without a worker once its jobs waited the bound, and once only', async () => {
    const waiting = new Map([
      ['default', 3],
      ['pool.net', 1],
      ['pool.cpu', 2],
    ]);
    const t = watch(waiting, new Map([['pool.cpu', 1]]));
    await t.at(0);
    await t.at(9_999);
    expect(t.said).toEqual([]);
    await t.at(10_000);
    expect(t.said).toEqual([
      `no worker serves this run's jobs waiting in Redis for 10s: 3 jobs without a pool, 1 job of pool "net"; start one with: jobrun worker redis://:***@queue:6379 --pool '*'`,
    ]);
    await t.at(30_000);
    expect(t.said).toHaveLength(1);
  });

  it('says it again only after a worker came and went; a start restarts the wait', async () => {
    const waiting = new Map([['default', 2]]);
    const workers = new Map<string, number>();
    const t = watch(waiting, workers);
    await t.at(0);
    await t.at(10_000);
    expect(t.said).toHaveLength(1);
    workers.set('default', 1); // a worker came, busy: nothing is said
    await t.at(20_000);
    await t.at(40_000);
    expect(t.said).toHaveLength(1);
    workers.delete('default'); // and went
    await t.at(50_000);
    expect(t.said).toHaveLength(2);
    t.w.started('default');
    await t.at(55_000);
    await t.at(64_999);
    expect(t.said).toHaveLength(2);
  });
});

describe('UnservedWatch on its timer', () => {
  it('a look that throws neither rejects nor stops the next look', async () => {
    const waiting = new Map([['default', 1]]);
    let calls = 0;
    let now = 0;
    const said: string[] = [];
    const w = new UnservedWatch(
      {
        afterMs: 10_000,
        waiting: () => waiting,
        workersOf: () => {
          calls++;
          if (calls === 1) throw new Error('connection is closed');
          return Promise.resolve(0);
        },
        safeUrl: 'redis://queue:6379',
        say: (line) => said.push(line),
      },
      () => now,
      false,
    );
    await w.tick();
    now = 10_000;
    await expect(w.tick()).resolves.toBeUndefined();
    now = 11_000;
    await w.tick();
    expect(said).toHaveLength(1);
  });
});
