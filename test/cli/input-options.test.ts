import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { applyOverrides } from '../../src/cli/job-source.js';
import { splitSources } from '../../src/cli/ad-hoc-jobs.js';
import { checkSourceFiles } from '../../src/cli/input-checks.js';
import { MAX_WORKERS, parseBackoff, parseWorkers } from '../../src/cli/flags/values.js';
import { batchItems } from '../../src/manifest/batch.js';
import { parseDelimiter } from '../../src/manifest/records.js';
import { recoverRawNames } from '../../src/manifest/raw-names.js';
import { adHocJob } from '../../src/manifest/index.js';
import { decodeBytes, encodeBytes } from '../../src/model/bytes.js';

describe('-j forms', () => {
  it.each([
    ['4', 8, 4, 4],
    ['2:8', 8, 2, 8],
    ['50%', 8, 4, 4],
    ['50%', 1, 1, 1],
    ['150%', 4, 6, 6],
    ['+1', 8, 9, 9],
    ['-1', 8, 7, 7],
    ['-3', 2, 1, 1],
    ['0', 8, MAX_WORKERS, MAX_WORKERS],
  ] as const)('-j %s with %d CPUs', (text, cpus, min, max) => {
    expect(parseWorkers(text, cpus)).toEqual({ min, max });
  });

  it('rejects the rest', () => {
    for (const t of ['', 'x', '8:2', '%', '+', '1.5'])
      expect(() => parseWorkers(t, 4)).toThrow(/not a worker count/);
  });
});

describe('--backoff and --kill-grace', () => {
  it('parses delay[,factor[,max]]', () => {
    expect(parseBackoff('1s,2,1m')).toEqual({
      delayMs: 1000,
      factor: 2,
      maxMs: 60_000,
      jitter: true,
    });
    expect(parseBackoff('250ms')).toEqual({ delayMs: 250, factor: 2, maxMs: 60_000, jitter: true });
    expect(() => parseBackoff('1s,2,1m,4')).toThrow(/use delay\[,factor\[,max\]\]/);
    expect(() => parseBackoff('1s,0')).toThrow(/factor must be a number of at least 1/);
  });

  it('win over every job', () => {
    const job = adHocJob('a', 0, 'true', { cwd: '.', shell: '/bin/sh' });
    const backoff = parseBackoff('2s');
    expect(applyOverrides(job, { killGraceMs: 100, backoff })).toMatchObject({
      killGraceMs: 100,
      backoff,
    });
  });
});

describe('sources after --', () => {
  it('splits the command from ::: values and :::: files', () => {
    expect(splitSources(['echo', '{1}', ':::', 'a', 'b', '::::', 'f1', 'f2', ':::', 'x'])).toEqual({
      command: ['echo', '{1}'],
      sources: [{ values: ['a', 'b'] }, { file: 'f1' }, { file: 'f2' }, { values: ['x'] }],
    });
    expect(splitSources(['gzip'])).toEqual({ command: ['gzip'], sources: [] });
    expect(() => splitSources(['echo', ':::+', 'a'])).toThrow(UsageError);
    expect(() => splitSources(['echo', '::::'])).toThrow(UsageError);
  });

  it(':::: files that are missing or directories are usage errors; FIFOs are left to stream', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-sources-'));
    const file = (name: string) => path.join(dir, name);
    fs.writeFileSync(file('ok.txt'), 'a\n');
    fs.mkdirSync(file('sub'));
    spawnSync('mkfifo', [file('fifo')]);
    expect(() => checkSourceFiles([{ file: file('nosuch.txt') }])).toThrow(
      new UsageError(`cannot read :::: ${file('nosuch.txt')}: no such file (ENOENT)`),
    );
    expect(() => checkSourceFiles([{ values: ['a'] }, { file: file('sub') }])).toThrow(
      new UsageError(`cannot read :::: ${file('sub')}: it is a directory (EISDIR)`),
    );
    expect(() => checkSourceFiles([{ file: file('ok.txt/x') }])).toThrow(
      /no such file \(ENOTDIR\)/,
    );
    // a FIFO is not opened here: that would wait for its writer
    expect(() =>
      checkSourceFiles([{ file: '-' }, { file: file('ok.txt') }, { file: file('fifo') }]),
    ).not.toThrow();
  });

  it('--delimiter escapes', () => {
    expect([...parseDelimiter('\\0')]).toEqual([0]);
    expect([...parseDelimiter('\\t;\\x41')]).toEqual([9, 59, 0x41]);
    expect(parseDelimiter('ab').toString()).toBe('ab');
  });

  it('--delimiter keeps its exact bytes: a raw byte from argv, a character beyond the BMP', () => {
    // raw-argv.ts carries a non-UTF-8 argument's bytes the surrogateescape way
    expect([...parseDelimiter(decodeBytes(Buffer.of(0xff)))]).toEqual([0xff]);
    expect([...parseDelimiter(decodeBytes(Buffer.of(0x2c, 0xe9, 0x5c, 0x74)))]).toEqual([
      0x2c, 0xe9, 9,
    ]);
    expect(parseDelimiter('😀').toString()).toBe('😀');
  });
});

describe('batching', () => {
  it('closes a batch at the item count or before the byte limit', async () => {
    const items = ['aaaa', 'bbbb', 'cccc', 'dddd', 'eeee'].map((v) => ({ args: [v] }));
    const size = (it: { args: string[] }) => 10 + it.args.join(' ').length;
    const byCount = [];
    for await (const b of batchItems(items, { maxItems: 2 })) byCount.push(b.members);
    expect(byCount).toEqual([['aaaa', 'bbbb'], ['cccc', 'dddd'], ['eeee']]);
    const byBytes = [];
    for await (const b of batchItems(items, { maxBytes: 21, size })) byBytes.push(b.members);
    expect(byBytes).toEqual([['aaaa', 'bbbb'], ['cccc', 'dddd'], ['eeee']]);
  });
});

describe('names that are not UTF-8 after a glob', () => {
  it('finds the real bytes behind a lossy name, in nested folders too', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-raw-'));
    const sub = Buffer.concat([Buffer.from(dir + '/d'), Buffer.of(0xff)]);
    fs.mkdirSync(sub);
    fs.writeFileSync(Buffer.concat([sub, Buffer.from('/caf'), Buffer.of(0xe9)]), '');
    const lossy = `d\uFFFD/caf\uFFFD`;
    const [real] = recoverRawNames([lossy, 'plain'], dir);
    expect([...encodeBytes(real!)]).toEqual([
      ...Buffer.from('d'),
      0xff,
      ...Buffer.from('/caf'),
      0xe9,
    ]);
    expect(recoverRawNames(['plain'], dir)).toEqual(['plain']);
    fs.rmSync(dir, { recursive: true });
  });
});
