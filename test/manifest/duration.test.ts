import { describe, expect, it } from 'vitest';
import { parseDuration, parseSize, parseTimeout } from '../../src/manifest/index.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['2d', 172_800_000],
    ['1.5s', 1_500],
    ['.5s', 500],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    [' 10s ', 10_000],
    ['0', 0],
    ['0s', 0],
    ['10', 10_000],
    ['2.5', 2_500],
    [10, 10_000],
    [0.25, 250],
    [0, 0],
  ] as const)('%j → %d ms', (input, ms) => {
    expect(parseDuration(input, 'x')).toBe(ms);
  });

  it.each(['', 'abc', '10 minutes', '5x', '-1s', '1s2', 's', '1.2.3s', '30 s', 'NaN', '1e3'])(
    'rejects %j with a message naming the value',
    (input) => {
      expect(() => parseDuration(input, '--delay')).toThrow(/^--delay: invalid duration/);
      expect(() => parseDuration(input, '--delay')).toThrow(JSON.stringify(input));
    },
  );

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (input) => {
    expect(() => parseDuration(input, 'kill_grace')).toThrow(
      /^kill_grace: must be a non-negative duration/,
    );
  });

  it('has no prefix when `what` is empty', () => {
    expect(() => parseDuration('x', '')).toThrow(/^invalid duration "x"/);
  });
});

describe('parseTimeout', () => {
  it('parses durations to { ms }', () => {
    expect(parseTimeout('30s')).toEqual({ ms: 30_000 });
    expect(parseTimeout(2)).toEqual({ ms: 2_000 });
  });

  it('parses N% to { percent }', () => {
    expect(parseTimeout('300%')).toEqual({ percent: 300 });
    expect(parseTimeout(' 150.5 % ')).toEqual({ percent: 150.5 });
  });

  it.each(['0%', '%', 'abc%', '-5%', '0', 0, '0s', 'x'])('rejects %j', (input) => {
    expect(() => parseTimeout(input, '--timeout')).toThrow(/^--timeout: /);
  });
});

describe('parseSize', () => {
  it.each([
    ['512M', 512 * 1024 ** 2],
    ['512m', 512 * 1024 ** 2],
    ['512MB', 512 * 1024 ** 2],
    ['512MiB', 512 * 1024 ** 2],
    ['2G', 2 * 1024 ** 3],
    ['1.5g', 1.5 * 1024 ** 3],
    ['100k', 102_400],
    ['1T', 1024 ** 4],
    ['4096', 4096],
    ['10b', 10],
    [4096, 4096],
  ] as const)('%j → %d bytes', (input, bytes) => {
    expect(parseSize(input)).toBe(bytes);
  });

  it.each(['', 'lots', '5X', '-1G', '1GG', '10ib', 'G'])('rejects %j', (input) => {
    expect(() => parseSize(input, '--min-free-mem')).toThrow(/^--min-free-mem: invalid size/);
  });
});
