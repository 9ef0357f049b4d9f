import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobrun, tempDir } from './helpers.js';

/**
 * Preloaded into jobrun: notes, in the order they happen, each write of start lines to
 * the journal (`fs.writeSync`, as the journal writes) and each `job_start` on stdout
 * (`--events`). Both are synchronous writes to the kernel, so the order noted is the
 * order a `kill -9` could cut them in.
 */
const OBSERVER = `
import fs from 'node:fs';
const seen = [];
const writeSync = fs.writeSync;
fs.writeSync = function (fd, data, ...rest) {
  if (typeof data === 'string' && data.includes('"status":"running"'))
    seen.push('journal ' + [...data.matchAll(/"name":"([^"]*)","command":"[^"]*","status":"running"/g)].map((m) => m[1]).join(' '));
  return writeSync.call(this, fd, data, ...rest);
};
const write = process.stdout.write;
process.stdout.write = function (chunk, ...rest) {
  const m = /"type":"job_start".*?"name":"([^"]*)"/.exec(String(chunk));
  if (m) seen.push('start ' + m[1]);
  return write.call(this, chunk, ...rest);
};
process.on('exit', () => writeSync.call(fs, fs.openSync(process.env.ORDER_LOG, 'w'), seen.join('\\n') + '\\n'));
`;

async function startsAndWrites(
  jobs: number,
  extra: string[],
): Promise<{ order: string[]; starts: string[]; writes: string[][] }> {
  const dir = tempDir();
  const observer = path.join(dir, 'observer.mjs');
  fs.writeFileSync(observer, OBSERVER);
  const log = path.join(dir, 'order.log');
  const input = Array.from({ length: jobs }, (_, i) => `j${i + 1}`).join('\n') + '\n';
  const res = await jobrun(['run', '--stdin', '-j', '1', '--events', ...extra, '--', 'true'], {
    cwd: dir,
    input,
    env: { NODE_OPTIONS: `--import ${observer}`, ORDER_LOG: log },
    timeoutMs: 120_000,
  });
  expect(res.stderr).toContain(`${jobs} succeeded`);
  expect(res.code).toBe(0);
  const order = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
  fs.rmSync(dir, { recursive: true, force: true });
  const starts = order.filter((l) => l.startsWith('start ')).map((l) => l.slice(6));
  const writes = order
    .filter((l) => l.startsWith('journal '))
    .map((l) => l.slice(8).split(' ').filter(Boolean));
  return { order, starts, writes };
}

/** Each job_start comes after a journal write that holds its start line. */
function expectJournaledFirst(order: string[]): void {
  const journaled = new Set<string>();
  const early: string[] = [];
  for (const line of order) {
    const [what, ...names] = line.split(' ');
    if (what === 'journal') for (const name of names) journaled.add(name);
    else if (!journaled.has(names[0]!)) early.push(names[0]!);
  }
  expect(early, 'said started before its journal line was written').toEqual([]);
}

describe('the journal and job_start', () => {
  it('starts a spawner reports at once share a journal write, each written before it is said', async () => {
    const { order, starts, writes } = await startsAndWrites(300, []);
    expect(starts).toHaveLength(300);
    expectJournaledFirst(order);
    // every start journaled exactly once
    expect(writes.flat().sort()).toEqual([...starts].sort());
    // jobs queued in the spawner report their starts in batches: fewer writes than starts
    // (one write per start before); a batch is up to a dozen jobs of a few ms
    expect(writes.length).toBeLessThan(starts.length * 0.9);
    expect(Math.max(...writes.map((w) => w.length))).toBeGreaterThan(1);
  }, 150_000);

  it('--spawner child (a pid known as the job starts): each start written before it is said', async () => {
    const { order, starts } = await startsAndWrites(30, ['--spawner', 'child']);
    expect(starts).toHaveLength(30);
    expectJournaledFirst(order);
  }, 150_000);
});
