import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { forEachLine } from '../../src/core/journal-lines.js';

describe('reading a journal a chunk at a time', () => {
  it('gives every line whole: across chunk edges, multi-byte characters, a torn last line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-lines-'));
    const file = path.join(dir, 'j.ndjson');
    // lines of every length around the 1 MiB chunk, full of 2- and 3-byte characters
    const lines = ['é'.repeat(300_000), 'x'.repeat(1 << 20), '€'.repeat(400_000), '', 'short'];
    fs.writeFileSync(file, lines.join('\n') + '\n{"torn"');
    const seen: string[] = [];
    const bytes = forEachLine(file, (line) => seen.push(line));
    expect(seen).toEqual([...lines, '{"torn"']);
    expect(bytes).toBe(fs.statSync(file).size);
    fs.rmSync(dir, { recursive: true });
  });
});
