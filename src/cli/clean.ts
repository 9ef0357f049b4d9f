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
    const entries = path.join(dir, 'entries');
    const n = fs.existsSync(entries) ? fs.readdirSync(entries).length : 0;
    fs.rmSync(dir, { recursive: true, force: true });
    text += ` and ${n} cache entr${n === 1 ? 'y' : 'ies'} (${dir})`;
  }
  if (kept > 0) text += `; kept the files of ${kept} run${kept === 1 ? '' : 's'} still going`;
  process.stderr.write(text + '\n');
}
