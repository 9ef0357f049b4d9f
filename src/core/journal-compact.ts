import fs from 'node:fs';
import type { EarlierSuccess } from '../model/result.js';
import { earlierSuccess } from './journal.js';

/**
 * Rewrites a closed journal to what `--resume` reads from it: its successes, one line
 * each (each stands for one job, so equal jobs keep their count), in file order,
 * with its result but without the time. Failures, which `--resume` does not read, and torn lines go.
 * Written beside the journal, then renamed over it: a crash leaves the old journal or
 * the new one, never half. Returns the sizes before and after, in bytes.
 */
export function compactJournal(file: string): { before: number; after: number } {
  const text = fs.readFileSync(file, 'utf8');
  let out = '';
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry: { name?: unknown; command?: unknown; status?: unknown } & EarlierSuccess;
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a torn line: that job simply runs again, as before
    }
    if (
      entry.status === 'succeeded' &&
      typeof entry.name === 'string' &&
      typeof entry.command === 'string'
    )
      out +=
        JSON.stringify({
          name: entry.name,
          command: entry.command,
          status: 'succeeded',
          ...earlierSuccess(entry),
        }) + '\n';
  }
  const tmp = `${file}.compact-${process.pid}`;
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, file);
  return { before: Buffer.byteLength(text), after: Buffer.byteLength(out) };
}
