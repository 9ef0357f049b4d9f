import fs from 'node:fs';

/**
 * Rewrites a closed journal to what `--resume` needs from it: one line per job whose
 * last record says it succeeded, without the time. Lines of jobs that later failed or
 * ran again, torn lines and records of anything else are dropped, so resuming from the
 * compacted file skips exactly the jobs it skipped before. Written beside the journal,
 * then renamed over it: a crash leaves the old journal or the new one, never half.
 * Returns the sizes before and after, in bytes.
 */
export function compactJournal(file: string): { before: number; after: number } {
  const text = fs.readFileSync(file, 'utf8');
  const last = new Map<string, { name: string; command: string; status: unknown }>();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let entry: { name?: unknown; command?: unknown; status?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue; // a torn line: that job simply runs again, as before
    }
    if (typeof entry.name !== 'string' || typeof entry.command !== 'string') continue;
    const key = `${entry.name}\0${entry.command}`;
    last.delete(key); // keep file order by the latest record
    last.set(key, { name: entry.name, command: entry.command, status: entry.status });
  }
  let out = '';
  for (const e of last.values()) {
    if (e.status === 'succeeded')
      out += JSON.stringify({ name: e.name, command: e.command, status: 'succeeded' }) + '\n';
  }
  const tmp = `${file}.compact-${process.pid}`;
  fs.writeFileSync(tmp, out);
  fs.renameSync(tmp, file);
  return { before: Buffer.byteLength(text), after: Buffer.byteLength(out) };
}
