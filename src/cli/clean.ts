import fs from 'node:fs';
import path from 'node:path';
import { removeJournals } from './live-runs.js';
import { pruneRuns } from './retention.js';
import { STATE_DIR } from './run.js';

/**
 * `jobrun clean`: deletes run log folders under `.jobrun/logs/` but the newest `--keep`,
 * with `--journals` the journals too, with `--cache` the cache, then says what it freed.
 */
export interface CleanFlags {
  keep: number;
  journals?: boolean;
  cache?: boolean;
  cacheDir?: string;
}

export function cleanCommand(flags: CleanFlags): void {
  const removed = pruneRuns(path.resolve(STATE_DIR, 'logs'), flags.keep, undefined, true);
  const runs = removed.folders.length;
  const mb = (removed.bytes / 1e6).toFixed(1);
  let text = `jobrun: removed the logs of ${runs} run${runs === 1 ? '' : 's'} (${removed.files} file${removed.files === 1 ? '' : 's'}, ${mb} MB)`;
  let kept = removed.live.length;
  if (flags.journals) {
    const journals = removeJournals(path.resolve(STATE_DIR, 'journal'));
    const n = journals.removed;
    text += ` and ${n} journal${n === 1 ? '' : 's'}`;
    kept = Math.max(kept, journals.kept);
  }
  if (flags.cache) {
    const dir = path.resolve(flags.cacheDir ?? path.join(STATE_DIR, 'cache'));
    const n = countFiles(path.join(dir, 'entries'));
    // writes cut short by a kill -9: nothing names them, but they take room
    const temps = countFiles(path.join(dir, 'tmp'));
    fs.rmSync(dir, { recursive: true, force: true });
    text += ` and ${n} cache entr${n === 1 ? 'y' : 'ies'}`;
    if (temps > 0) text += ` and ${temps} unfinished cache write${temps === 1 ? '' : 's'}`;
    text += ` (${dir})`;
  }
  if (kept > 0) text += `; kept the files of ${kept} run${kept === 1 ? '' : 's'} still going`;
  process.stderr.write(text + '\n');
}

function countFiles(dir: string): number {
  return fs.existsSync(dir) ? fs.readdirSync(dir).length : 0;
}
