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

it('keeps no start or failure that only mentions a success, in its name or its result', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-journal-')), 'j.ndjson');
  const lines = [
    { name: '"succeeded"', command: 'true', status: 'running', pid: 1 },
    { name: 'x', command: 'echo "cached"', status: 'failed', result: { status: 'succeeded' } },
    { name: 'ok "succeeded"', command: 'true', status: 'succeeded', result: { n: 1 } },
  ];
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l) + '\n').join(''));
  compactJournal(file);
  expect(fs.readFileSync(file, 'utf8')).toBe(
    JSON.stringify({
      name: 'ok "succeeded"',
      command: 'true',
      status: 'succeeded',
      result: { n: 1 },
    }) + '\n',
  );
});
