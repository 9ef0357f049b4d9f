import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/exec/line-splitter.js';

function split(chunks: (string | Buffer)[], maxLength?: number): string[] {
  const lines: string[] = [];
  const splitter = new LineSplitter((line) => lines.push(line), maxLength);
  for (const chunk of chunks) splitter.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  splitter.end();
  return lines;
}

describe('LineSplitter', () => {
  it('splits lines across chunks and keeps empty lines', () => {
    expect(split(['a\nb', 'c\n\nd', '\n'])).toEqual(['a', 'bc', '', 'd']);
  });

  it('drops \\r before \\n and flushes a last partial line at end', () => {
    expect(split(['a\r\nb\r', '\nlast'])).toEqual(['a', 'b', 'last']);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('é€😀\n');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    expect(split(chunks)).toEqual(['é€😀']);
  });

  it('passes long lines in pieces no longer than the limit', () => {
    expect(split(['abcdefghij\nxy'], 4)).toEqual(['abcd', 'efgh', 'ij', 'xy']);
    expect(split(['ab', 'cd', 'ef', '\n'], 4)).toEqual(['abcd', 'ef']);
  });

  it('never splits a surrogate pair', () => {
    const lines = split(['abc😀def\n'], 4);
    expect(lines.join('')).toBe('abc😀def');
    expect(lines.every((line) => !/[\uD800-\uDBFF]$/.test(line))).toBe(true);
  });

  it('emits nothing for no input', () => {
    expect(split([])).toEqual([]);
  });
});
