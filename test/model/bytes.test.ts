import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBytes, displayText, encodeBytes, hasRawBytes } from '../../src/model/bytes.js';

describe('raw bytes in strings (surrogateescape)', () => {
  it('round-trips every byte string exactly (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const s = decodeBytes(bytes);
        expect(encodeBytes(s).equals(Buffer.from(bytes))).toBe(true);
        expect(hasRawBytes(s)).toBe(!isUtf8(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('decodes valid UTF-8 as plain text and escapes only the bad bytes', () => {
    const name = Buffer.concat([
      Buffer.from('café-'),
      Buffer.of(0x63, 0x61, 0x66, 0xe9),
      Buffer.from('.txt'),
    ]);
    const s = decodeBytes(name);
    expect(s).toBe('café-caf\udce9.txt');
    expect(hasRawBytes(s)).toBe(true);
    expect(hasRawBytes('café 🚀')).toBe(false);
    expect(displayText(s)).toBe('café-caf\ufffd.txt');
  });

  it('rejects overlong forms and encoded surrogates as text, keeping their bytes', () => {
    for (const bad of [
      [0xc0, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xe2, 0x82],
    ]) {
      const s = decodeBytes(Uint8Array.from(bad));
      expect([...s].every((c) => c.charCodeAt(0) >= 0xdc80 && c.charCodeAt(0) <= 0xdcff)).toBe(
        true,
      );
      expect(encodeBytes(s)).toEqual(Buffer.from(bad));
    }
  });
});
