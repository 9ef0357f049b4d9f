import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/core/backoff.js';
import { parseHalt, shouldHalt } from '../../src/core/halt.js';
import { compactJournal } from '../../src/core/journal-compact.js';
import { openJournal } from '../../src/core/journal.js';
import { logPathFor } from '../../src/core/log-path.js';
import { MedianTracker } from '../../src/core/median.js';
import { PriorityQueue } from '../../src/core/priority-queue.js';
import { WorkerScaler } from '../../src/core/scaling.js';
import { UsageError } from '../../src/errors.js';
import type { JobRecord } from '../../src/model/events.js';

describe('PriorityQueue', () => {
  it('pops in the same order as a stable sort by priority', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -3, max: 3 }), { maxLength: 300 }), (priorities) => {
        const items = priorities.map((p, i) => ({ p, i }));
        const q = new PriorityQueue<{ p: number; i: number }>((a, b) =>
          a.p !== b.p ? a.p > b.p : a.i < b.i,
        );
        items.forEach((x) => q.push(x));
        const out: number[] = [];
        for (let x = q.pop(); x; x = q.pop()) out.push(x.i);
        const expected = [...items].sort((a, b) => b.p - a.p || a.i - b.i).map((x) => x.i);
        expect(out).toEqual(expected);
      }),
    );
  });

  it('removeWhere keeps the heap valid', () => {
    const q = new PriorityQueue<number>((a, b) => a < b);
    [5, 3, 8, 1, 9, 2, 7].forEach((n) => q.push(n));
    expect(q.removeWhere((n) => n % 2 === 0).sort()).toEqual([2, 8]);
    const out: number[] = [];
    for (let x = q.pop(); x !== undefined; x = q.pop()) out.push(x);
    expect(out).toEqual([1, 3, 5, 7, 9]);
  });

  it('handles 100,000 items in O(log n) time per operation', () => {
    const q = new PriorityQueue<number>((a, b) => a > b);
    for (let i = 0; i < 100_000; i++) q.push((i * 7919) % 100_003);
    let last = Infinity;
    let inOrder = true;
    for (let i = 0; i < 100_000; i++) {
      const x = q.pop()!;
      inOrder &&= x <= last;
      last = x;
    }
    expect(inOrder).toBe(true);
    expect(q.size).toBe(0);
  });
});

describe('backoffDelay', () => {
  const spec = { delayMs: 1000, factor: 2, maxMs: 5000, jitter: false };
  it('grows by factor and is capped at max', () => {
    expect([2, 3, 4, 5, 6].map((n) => backoffDelay(spec, n))).toEqual([
      1000, 2000, 4000, 5000, 5000,
    ]);
  });
  it('jitter draws from [d/2, d]', () => {
    const j = { ...spec, jitter: true };
    expect(backoffDelay(j, 3, () => 0)).toBe(1000);
    expect(backoffDelay(j, 3, () => 0.999999)).toBe(2000);
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (n, r) => {
          const d = backoffDelay(j, n, () => r);
          const full = backoffDelay(spec, n);
          expect(d).toBeGreaterThanOrEqual(Math.floor(full / 2));
          expect(d).toBeLessThanOrEqual(full);
        },
      ),
    );
  });
});

describe('halt policies', () => {
  it('parses GNU parallel spellings', () => {
    expect(parseHalt('now')).toMatchObject({ when: 'now', on: 'fail', count: 1 });
    expect(parseHalt('soon,fail=3')).toMatchObject({ when: 'soon', on: 'fail', count: 3 });
    expect(parseHalt('now,success=50%')).toMatchObject({ when: 'now', on: 'success', percent: 50 });
    for (const bad of ['later', 'soon,fail=0', 'now,fail=x', 'soon,fail=120%']) {
      expect(() => parseHalt(bad)).toThrow(UsageError);
    }
  });
  it('compares percentages against the total', () => {
    const p = parseHalt('soon,fail=20%');
    expect(shouldHalt(p, { failures: 1, successes: 0, total: 10 })).toBe(false);
    expect(shouldHalt(p, { failures: 2, successes: 0, total: 10 })).toBe(true);
  });
});

describe('MedianTracker', () => {
  it('gives the median, and stays bounded', () => {
    const m = new MedianTracker(5);
    expect(m.median()).toBeUndefined();
    [3, 1, 2].forEach((x) => m.add(x));
    expect(m.median()).toBe(2);
    m.add(10);
    expect(m.median()).toBe(2.5);
    for (let i = 0; i < 1000; i++) m.add(7);
    expect(m.median()).toBe(7);
  });
});

describe('MedianTracker against a sort', () => {
  it('gives the exact median of its reservoir after every add, also once it replaces samples', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const m = new MedianTracker(101, random);
    const reservoir: number[] = [];
    let seen = 0;
    let mirror = 7;
    const mirrorRandom = () => (mirror = (mirror * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i++) {
      const value = Math.floor(random() * 50) + (i % 3); // many equal values
      seen++;
      // the mirror applies the same reservoir rule and sorts, as the tracker once did
      void mirrorRandom();
      if (reservoir.length < 101) reservoir.push(value);
      else {
        const slot = Math.floor(mirrorRandom() * seen);
        if (slot < 101) reservoir[slot] = value;
      }
      m.add(value);
      const sorted = [...reservoir].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const want = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
      expect(m.median()).toBe(want);
    }
  });
});

/**
 * A final record as the journal takes it: job `name` (`run NAME`, the first of its name)
 * ending succeeded, unless `extra` says otherwise.
 */
function endRecord(name: string, extra: Partial<JobRecord> = {}): JobRecord {
  const index = extra.index ?? 0;
  return {
    id: `${index + 1}-${name}`,
    name,
    index,
    command: `run ${name}`,
    cwd: '/',
    priority: 0,
    needs: [],
    allowFailure: false,
    status: 'succeeded',
    attempts: [],
    endedAt: 0,
    ...extra,
  };
}

describe('journal', () => {
  it('resumes only jobs that succeeded with the same command, ignoring a torn line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const rec = (name: string, command: string, status: 'succeeded' | 'failed') =>
      endRecord(name, { command, status });
    const j1 = openJournal(file, false);
    j1.record(rec('a', 'echo a', 'succeeded'));
    j1.record(rec('b', 'echo b', 'failed'));
    j1.record(rec('c', 'echo c', 'succeeded'));
    j1.close();
    fs.appendFileSync(file, '{"key":"tor');
    const j2 = openJournal(file, true);
    expect(j2.succeeded({ name: 'a', command: 'echo a' })).toBeTruthy();
    expect(j2.succeeded({ name: 'a', command: 'echo A' })).toBe(false);
    expect(j2.succeeded({ name: 'b', command: 'echo b' })).toBe(false);
    j2.record(rec('b', 'echo b', 'succeeded'));
    j2.close();
    const j3 = openJournal(file, true);
    expect(j3.succeeded({ name: 'b', command: 'echo b' })).toBeTruthy();
    expect(j3.succeeded({ name: 'c', command: 'echo c' })).toBeTruthy();
    j3.close();
    // without --resume the journal starts over
    const j4 = openJournal(file, false);
    expect(j4.succeeded({ name: 'a', command: 'echo a' })).toBe(false);
    j4.close();
  });
});

describe('journal writes', () => {
  const rec = (name: string) => endRecord(name);
  const lines = (file: string) =>
    fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const line = JSON.parse(l) as { name: string; status: string };
        return `${line.status} ${line.name}`;
      });

  it('starts told together share one write, made before the code that told them is done', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const journal = openJournal(file, false);
    journal.started({ name: 'a', command: 'run a', index: 0 }, 101, 5);
    journal.record(rec('a'));
    journal.started({ name: 'b', command: 'run b', index: 0 }, 102, 6);
    // nothing yet: a spawner's reports read at once are all told first
    expect(lines(file)).toEqual([]);
    let seen: string[] = [];
    // a microtask queued after the starts (a job_start announced) finds them written
    queueMicrotask(() => (seen = lines(file)));
    await Promise.resolve();
    expect(seen).toEqual(['running a', 'succeeded a', 'running b']);
    journal.close();
    fs.rmSync(dir, { recursive: true });
  });

  it('flush() writes a start at once, for the caller about to say it started', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const journal = openJournal(file, false);
    journal.started({ name: 'a', command: 'run a', index: 0 }, 101, 5);
    journal.flush();
    expect(lines(file)).toEqual(['running a']);
    journal.record(rec('a'));
    // an end waits for the next write (this turn of the event loop, or the next start)
    expect(lines(file)).toEqual(['running a']);
    journal.close();
    expect(lines(file)).toEqual(['running a', 'succeeded a']);
    fs.rmSync(dir, { recursive: true });
  });

  it('an end is written by the end of the turn, without another start', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const journal = openJournal(file, false);
    journal.record(rec('a'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines(file)).toEqual(['succeeded a']);
    journal.record(rec('b'));
    journal.close();
    expect(lines(file)).toEqual(['succeeded a', 'succeeded b']);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('journal of equal jobs', () => {
  it('counts successes: each skips one of the jobs alike in name and command', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const rec = (status: 'succeeded' | 'failed') => endRecord('dup', { status });
    const j1 = openJournal(file, false);
    j1.record(rec('failed'));
    j1.record(rec('succeeded'));
    j1.close();
    const j2 = openJournal(file, true);
    const dup = { name: 'dup', command: 'run dup' };
    expect([j2.succeeded(dup), j2.succeeded(dup), j2.succeeded(dup)]).toEqual([{}, false, false]);
    j2.record(rec('succeeded'));
    j2.close();
    const j3 = openJournal(file, true);
    expect([j3.succeeded(dup), j3.succeeded(dup), j3.succeeded(dup)]).toEqual([{}, {}, false]);
    j3.close();
    fs.rmSync(dir, { recursive: true });
  });

  it('keeps each success’s result, in order, through compaction', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const rec = (result: string[], truncated?: true) =>
      endRecord('src', {
        command: 'ls',
        result,
        ...(truncated ? { resultTruncated: truncated } : {}),
      });
    const j1 = openJournal(file, false);
    j1.record(rec(['a', 'b']));
    j1.record(rec(['c'], true));
    j1.close();
    compactJournal(file);
    const j2 = openJournal(file, true);
    const src = { name: 'src', command: 'ls' };
    expect([j2.succeeded(src), j2.succeeded(src)]).toEqual([
      { result: ['a', 'b'] },
      { result: ['c'], resultTruncated: true },
    ]);
    j2.close();
    fs.rmSync(dir, { recursive: true });
  });
});

describe('journal starts and ends', () => {
  const spec = (index: number) => ({ name: 'dup', command: 'run dup', index });
  const end = (index: number) => endRecord('dup', { index, status: 'failed' });

  it('pairs per attempt: a retried job that ended leaves no start open', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const j1 = openJournal(file, false);
    j1.started(spec(0), 101, 5);
    j1.started(spec(0), 102, 6);
    j1.started(spec(0), 103, 7);
    j1.record(end(0));
    j1.close();
    const j2 = openJournal(file, true);
    expect(j2.unfinished).toEqual([]);
    j2.close();
    fs.rmSync(dir, { recursive: true });
  });

  it('closes the start of the equal job that ended, not the oldest one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const j1 = openJournal(file, false);
    j1.started(spec(0), 201, 5);
    j1.started(spec(1), 202, 6);
    j1.record(end(1));
    j1.close(); // as if killed: job 1 (pid 201) still runs
    const j2 = openJournal(file, true);
    expect(j2.unfinished.map((s) => [s.pid, s.start])).toEqual([[201, 5]]);
    j2.close();
    fs.rmSync(dir, { recursive: true });
  });

  it('writes a spawner at once and reads it back apart from the jobs; compaction drops it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-'));
    const file = path.join(dir, 'j.ndjson');
    const j1 = openJournal(file, false);
    j1.spawner(300, 9);
    // on disk before it returns: before the spawner is given a job
    expect(fs.readFileSync(file, 'utf8')).toContain('"status":"spawner","pid":300');
    j1.started(spec(0), 301, 10);
    j1.record(endRecord('ok'));
    j1.close(); // as if killed: the spawner and dup's start are left
    const j2 = openJournal(file, true);
    expect(j2.spawners.map((s) => [s.pid, s.start])).toEqual([[300, 9]]);
    expect(j2.unfinished.map((s) => s.pid)).toEqual([301]);
    expect(j2.succeeded({ name: 'ok', command: 'run ok' })).toEqual({});
    j2.close();
    compactJournal(file);
    const j3 = openJournal(file, true);
    expect(j3.spawners).toEqual([]);
    j3.close();
    fs.rmSync(dir, { recursive: true });
  });
});

describe('logPathFor', () => {
  it('names each file after the job id: position first, then the name made safe', () => {
    expect(logPathFor('/l', 'build', 0, 1)).toBe('/l/1-build.log');
    expect(logPathFor('/l', 'build', 0, 2)).toBe('/l/1-build.attempt-2.log');
    expect(logPathFor('/l', 'img/a b.png', 4, 1)).toBe('/l/5-img_a_b.png.log');
    expect(logPathFor('/l', '../../etc', 1, 1)).toBe('/l/2-.._.._etc.log');
  });

  it("never gives two jobs, or a job and another job's retry, the same file", () => {
    const names = ['a b', 'a_b', 'a_b-1', 'x', 'x.attempt-2', 'dup', 'dup', '', '.', '..'];
    const paths = names.flatMap((name, index) =>
      [1, 2, 3].map((attempt) => logPathFor('/l', name, index, attempt)),
    );
    expect(new Set(paths).size).toBe(paths.length);
    for (const p of paths) expect(path.dirname(p)).toBe('/l');
  });
});

describe('WorkerScaler', () => {
  it('a fixed pool never schedules a shrink', () => {
    const fixed = new WorkerScaler({ min: 2, max: 2 }, 500);
    fixed.update(0, 0, 0);
    expect(fixed.shrinkDueIn(0)).toBeUndefined();
    const dynamic = new WorkerScaler({ min: 1, max: 3 }, 500);
    dynamic.update(2, 0, 0);
    dynamic.update(0, 0, 100);
    expect(dynamic.shrinkDueIn(100)).toBe(500);
  });
});
