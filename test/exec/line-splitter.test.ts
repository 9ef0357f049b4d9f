import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../../src/exec/line-splitter.js';
import { encodeBytes } from '../../src/model/bytes.js';

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

  it('keeps \\r before \\n (the job wrote it) and flushes a last partial line at end', () => {
    expect(split(['a\r\nb\r', '\nlast'])).toEqual(['a\r', 'b\r', 'last']);
  });

  it('says which lines a newline ended, so lines and newlines give back the exact bytes', () => {
    const bytes = Buffer.from(`a\r\n${'x'.repeat(10)}\n\r\nabcd`);
    for (const chunks of [[bytes], [...bytes].map((b) => Buffer.from([b]))]) {
      const got: Buffer[] = [];
      const ends: boolean[] = [];
      const splitter = new LineSplitter((line, newline) => {
        got.push(encodeBytes(newline ? `${line}\n` : line));
        ends.push(newline);
      }, 4);
      for (const chunk of chunks) splitter.push(chunk);
      splitter.end();
      expect(Buffer.concat(got)).toEqual(bytes);
      // a\r, then xxxx xxxx xx (pieces: no newline but the last), \r, abcd (no newline)
      expect(ends).toEqual([true, false, false, true, true, false]);
    }
  });

  it('a line of exactly the limit whose newline comes later is one line, not two', () => {
    expect(split(['abcd', '\n', 'ef\n'], 4)).toEqual(['abcd', 'ef']);
  });

  it('decodes a multi-byte character split across chunks', () => {
    const bytes = Buffer.from('é€😀\n');
    const chunks = [...bytes].map((b) => Buffer.from([b]));
    expect(split(chunks)).toEqual(['é€😀']);
  });

  it('keeps bytes that are not UTF-8 as escapes, so the line encodes back to them', () => {
    const bytes = Buffer.from('a\xffb\xe2\x82\xac\xe2\x82\n\xf0\x9f', 'latin1');
    for (const chunks of [[bytes], [...bytes].map((b) => Buffer.from([b]))]) {
      const lines = split(chunks);
      expect(lines).toEqual(['a\udcffb€\udce2\udc82', '\udcf0\udc9f']);
      expect(Buffer.concat(lines.map((l) => encodeBytes(`${l}\n`)))).toEqual(
        Buffer.concat([bytes, Buffer.from('\n')]),
      );
    }
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
