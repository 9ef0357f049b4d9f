import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { compactJournal } from '../../src/core/journal-compact.js';

it('keeps jobs restored from the cache as done, like successes, and drops the rest', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-')), 'j.ndjson');
  const line = (name: string, status: string) =>
    JSON.stringify({ name, command: `run ${name}`, status }) + '\n';
  fs.writeFileSync(file, line('a', 'succeeded') + line('b', 'cached') + line('c', 'failed'));
  compactJournal(file);
  expect(fs.readFileSync(file, 'utf8')).toBe(line('a', 'succeeded') + line('b', 'succeeded'));
});
