import fs from 'node:fs';
import type { EarlierSuccess } from '../model/result.js';
import { earlierSuccess } from './journal.js';
import { forEachLine } from './journal-lines.js';

/**
 * Rewrites a closed journal to what `--resume` reads from it: its successes, one line
 * each (each stands for one job, so equal jobs keep their count), in file order,
 * with its result but without the time. Failures, which `--resume` does not read, and torn lines go.
 * Written beside the journal, then renamed over it: a crash leaves the old journal or
 * the new one, never half. Returns the sizes before and after, in bytes.
 */
export function compactJournal(file: string): { before: number; after: number } {
  const tmp = `${file}.compact-${process.pid}`;
  const out = fs.openSync(tmp, 'w');
  let pending = '';
  let after = 0;
  let before: number;
  try {
    before = forEachLine(file, (line) => {
      // most lines are starts: no JSON.parse for a line that cannot be a success (a
      // quote inside a value is escaped, so a success's own status is always so spelt)
      if (!line.includes('"succeeded"') && !line.includes('"cached"')) return;
      let entry: { name?: unknown; command?: unknown; status?: unknown } & EarlierSuccess;
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        return; // a torn line: that job simply runs again, as before
      }
      // a job restored from the cache is as done as one that ran
      if (
        (entry.status !== 'succeeded' && entry.status !== 'cached') ||
        typeof entry.name !== 'string' ||
        typeof entry.command !== 'string'
      )
        return;
      const { name, command } = entry;
      pending +=
        JSON.stringify({ name, command, status: 'succeeded', ...earlierSuccess(entry) }) + '\n';
      // written a piece at a time: the compacted journal is never one string either
      if (pending.length >= WRITE_AT) after += flush();
    });
    after += flush();
  } catch (err) {
    fs.closeSync(out);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(out);
  fs.renameSync(tmp, file);
  return { before, after };

  function flush(): number {
    const bytes = Buffer.from(pending);
    pending = '';
    fs.writeSync(out, bytes);
    return bytes.length;
  }
}

/** How much compacted text is gathered before it is written. */
const WRITE_AT = 1 << 20;
