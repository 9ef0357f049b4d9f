import { describe, expect, it } from 'vitest';
import { painter } from '../../src/reporters/format.js';
import { LIST_ALL_UP_TO, MAX_FAILED, SLOWEST, SummaryTable } from '../../src/reporters/summary.js';
import { record } from './helpers.js';

const names = (t: SummaryTable) => t.select().rows.map((j) => j.name);

describe('summary table selection', () => {
  it('lists every job in file order when there are at most 30', () => {
    const t = new SummaryTable();
    for (let i = LIST_ALL_UP_TO - 1; i >= 0; i--) t.add(record(`job-${i}`, i, { ms: i }));
    const sel = t.select();
    expect(sel.all).toBe(true);
    expect(names(t)).toEqual(Array.from({ length: LIST_ALL_UP_TO }, (_, i) => `job-${i}`));
  });

  it('beyond 30 jobs lists the failed ones, then the ten slowest', () => {
    const t = new SummaryTable();
    for (let i = 0; i < 1000; i++) {
      const status = i === 500 || i === 7 ? 'failed' : i === 900 ? 'timed_out' : 'succeeded';
      t.add(record(`job-${i}`, i, { ms: (i * 7919) % 1000, status }));
    }
    const sel = t.select();
    expect(sel.all).toBe(false);
    expect(sel.total).toBe(1000);
    const rows = names(t);
    expect(rows.slice(0, 3)).toEqual(['job-7', 'job-500', 'job-900']);
    const slow = rows.slice(3);
    expect(slow).toHaveLength(SLOWEST);
    // the ten largest (i * 7919) % 1000 values are 999..990, all different jobs
    const durations = slow.map((n) => (Number(n.slice(4)) * 7919) % 1000);
    expect(durations).toEqual([999, 998, 997, 996, 995, 994, 993, 992, 991, 990]);
  });

  it('does not list a failed job twice when it is also among the slowest', () => {
    const t = new SummaryTable();
    for (let i = 0; i < 40; i++)
      t.add(record(`j${i}`, i, { ms: i, status: i === 39 ? 'failed' : 'succeeded' }));
    const rows = names(t);
    expect(rows.filter((n) => n === 'j39')).toHaveLength(1);
    // the failed job is one of the ten slowest: the union has ten rows
    expect(rows).toHaveLength(SLOWEST);
    expect(rows[0]).toBe('j39');
  });

  it('keeps memory bounded: at most 31 + 100 failed + 10 slowest records', () => {
    const t = new SummaryTable();
    for (let i = 0; i < 20_000; i++)
      t.add(record(`j${i}`, i, { ms: i % 5000, status: i % 3 ? 'succeeded' : 'failed' }));
    const kept = t as unknown as { first: unknown[]; failed: unknown[]; slowest: unknown[] };
    expect(kept.first.length).toBe(LIST_ALL_UP_TO + 1);
    expect(kept.failed.length).toBe(MAX_FAILED);
    expect(kept.slowest.length).toBe(SLOWEST);
    const text = t.render(painter(false));
    expect(text).toContain(`+${Math.ceil(20_000 / 3) - MAX_FAILED} more failed jobs`);
  });

  it('leaves out jobs excluded by --only', () => {
    const t = new SummaryTable();
    t.add(record('in', 0));
    t.add(record('out', 1, { status: 'skipped', excluded: true }));
    expect(names(t)).toEqual(['in']);
  });

  it('renders columns, a totals line and the output tail of failed jobs', () => {
    const t = new SummaryTable();
    t.add(record('build', 0, { ms: 1500, pool: 'cpu' }));
    t.add(
      record('test', 1, {
        status: 'failed',
        exitCode: 2,
        outputTail: 'assertion failed\nat line 3',
      }),
    );
    t.add(record('deploy', 2, { status: 'skipped', reason: 'need "test" failed' }));
    t.add(record('hang', 3, { status: 'timed_out' }));
    const text = t.render(painter(false));
    for (const h of ['status', 'name', 'pool', 'attempts', 'duration', 'exit'])
      expect(text).toContain(h);
    expect(text).toMatch(/✔ succeeded\s+│ build\s+│ cpu\s+│\s+1 │\s+1\.50s │ 0/);
    expect(text).toMatch(/✖ failed\s+│ test\s+│ –\s+│\s+1 │\s+100ms │ 2/);
    expect(text).toMatch(/⏱ timed_out\s+│ hang .*timeout \(SIGTERM\)/);
    expect(text).toContain('total: 4 jobs, 3 attempts');
    expect(text).toContain('│ assertion failed');
    expect(text).toContain('│ at line 3');
    expect(text).not.toContain('\u001b[');
  });
});
