import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTail, tailOfBuffer } from '../../src/exec/tail.js';
import { tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

function fileWith(content: string | Buffer): string {
  const path = join(dirs.make(), 'log');
  writeFileSync(path, content);
  return path;
}

describe('readTail', () => {
  it('returns the last lines without the trailing newline', () => {
    const text = Array.from({ length: 50 }, (_, i) => `l${i + 1}`).join('\n') + '\n';
    expect(readTail(fileWith(text), { maxLines: 3 })).toBe('l48\nl49\nl50');
  });

  it('returns everything for a short file, and "" for empty or missing files', () => {
    expect(readTail(fileWith('one\ntwo'))).toBe('one\ntwo');
    expect(readTail(fileWith(''))).toBe('');
    expect(readTail('/no/such/file')).toBe('');
  });

  it('reads only the last bytes and drops the cut first line', () => {
    const path = fileWith('x'.repeat(10_000) + '\nshort\nend\n');
    expect(readTail(path, { maxBytes: 100 })).toBe('short\nend');
  });

  it('drops a multi-byte character cut by the byte limit', () => {
    const path = fileWith('ééééé');
    expect(readTail(path, { maxBytes: 5 })).toBe('éé');
  });

  it('replaces invalid bytes and stays within maxBytes after replacement', () => {
    const tail = tailOfBuffer(Buffer.alloc(100, 0xff), false, 100, 20);
    expect(tail).toMatch(/^\uFFFD+$/);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(100);
  });
});
