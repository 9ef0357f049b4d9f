import fs from 'node:fs';
import path from 'node:path';
import { folderInUse } from './live-runs.js';

/** How many runs' log folders stay under `.jobrun/logs/` when nothing says otherwise. */
export const DEFAULT_KEEP_RUNS = 10;

/** A run's log folder is named by its run id, which starts with its UTC date and time. */
const RUN_FOLDER = /^\d{8}-\d{6}-/;

/** The run log folders under `root`, oldest first (run ids sort by time). */
function runFolders(root: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => e.isDirectory() && RUN_FOLDER.test(e.name))
    .map((e) => e.name)
    .sort()
    .map((name) => path.join(root, name));
}

export interface Removed {
  folders: string[];
  /** Folders that were due but whose run is still going: never removed. */
  live: string[];
  files: number;
  bytes: number;
}

/**
 * Deletes the run log folders under `root` beyond the newest `keep` (0: all of them),
 * never `spare` (the folder of the run that is starting) nor the folder of a run still
 * going (see `live-runs.ts`). Folders that are not run folders are left alone. With `count`, says how many files and bytes went (for
 * `jobrun clean`); a run starting does not walk the folders it deletes.
 */
export function pruneRuns(root: string, keep: number, spare?: string, count = false): Removed {
  const folders = runFolders(root).filter((f) => f !== spare);
  const room = spare === undefined ? keep : Math.max(0, keep - 1);
  const due = folders.slice(0, Math.max(0, folders.length - room));
  const live = due.filter(folderInUse);
  const doomed = due.filter((folder) => !live.includes(folder));
  const removed: Removed = { folders: doomed, live, files: 0, bytes: 0 };
  for (const folder of doomed) {
    if (count) {
      const size = measure(folder);
      removed.files += size.files;
      removed.bytes += size.bytes;
    }
    fs.rmSync(folder, { recursive: true, force: true });
  }
  return removed;
}

function measure(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    // removed meanwhile
  }
  for (const e of entries) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) {
      const sub = measure(full);
      files += sub.files;
      bytes += sub.bytes;
    } else if (e.isFile()) {
      files++;
      try {
        bytes += fs.statSync(full).size;
      } catch {
        // removed meanwhile
      }
    }
  }
  return { files, bytes };
}
