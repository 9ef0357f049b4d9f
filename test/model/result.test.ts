import { describe, expect, it } from 'vitest';
import { captureResult, resultItems, splitLines } from '../../src/model/result.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('captured results', () => {
  it('keeps stdout as text, lines as an array, and parses json', () => {
    expect(captureResult({ mode: 'stdout', maxBytes: 100 }, b('3 f1\n'), false)).toEqual({
      result: '3 f1\n',
    });
    expect(captureResult({ mode: 'lines', maxBytes: 100 }, b('a\r\nb\n\nc'), false)).toEqual({
      result: ['a', 'b', '', 'c'],
    });
    expect(captureResult({ mode: 'json', maxBytes: 100 }, b(' {"n": [1]}\n'), false)).toEqual({
      result: { n: [1] },
    });
  });

  it('fails json that does not parse, or was cut, with the reason', () => {
    const bad = captureResult({ mode: 'json', maxBytes: 100 }, b('{oops'), false);
    expect(bad.result).toBeUndefined();
    expect(bad.error).toMatch(/^capture json: stdout is not JSON \(/);
    expect(captureResult({ mode: 'json', maxBytes: 100 }, b(''), false).error).toContain(
      'stdout is empty',
    );
    const cut = captureResult({ mode: 'json', maxBytes: 4 }, b('[1,2'), true);
    expect(cut.error).toContain('longer than 4 bytes');
  });

  it('marks a cut result truncated; cut lines drop the partial last line', () => {
    expect(captureResult({ mode: 'stdout', maxBytes: 3 }, b('abc'), true)).toEqual({
      result: 'abc',
      truncated: true,
    });
    expect(captureResult({ mode: 'lines', maxBytes: 6 }, b('one\ntw'), true)).toEqual({
      result: ['one'],
      truncated: true,
    });
  });

  it('keeps bytes that are not UTF-8 the surrogateescape way', () => {
    const r = captureResult(
      { mode: 'lines', maxBytes: 100 },
      Buffer.from([0x61, 0xff, 0x0a]),
      false,
    );
    expect(r.result).toEqual(['a\udcff']);
  });

  it('gives a stage its items from lines, a JSON array or text', () => {
    expect(resultItems(['a', 'b'])).toEqual(['a', 'b']);
    expect(resultItems([1, { x: 2 }])).toEqual(['1', '{"x":2}']);
    expect(resultItems('x\ny\n')).toEqual(['x', 'y']);
    expect(resultItems({ a: 1 })).toBeUndefined();
    expect(resultItems(undefined)).toBeUndefined();
    expect(splitLines('')).toEqual([]);
  });
});
