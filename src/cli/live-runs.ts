import fs from 'node:fs';
import path from 'node:path';
import { holderAlive, readHolder, takeLock, thisProcess } from '../core/journal-lock.js';

/**
 * Files of runs still going, which neither log retention nor `jobrun clean` removes:
 * a run's log folder names its owner in a file, as a journal's lock does, and the
 * owner is checked the way the lock's is (this boot, the same start time: a recycled
 * pid is not the owner).
 */
const OWNER_FILE = '.owner';

/** Marks `dir` as the folder of this running jobrun; returns the function that unmarks it. */
export function claimFolder(dir: string): () => void {
  const file = path.join(dir, OWNER_FILE);
  try {
    fs.writeFileSync(file, JSON.stringify(thisProcess()) + '\n');
  } catch {
    // an unmarked folder can be pruned by another run: its logs, not the run, are at stake
  }
  return () => fs.rmSync(file, { force: true });
}

/** The lock a run takes on a log folder the user named (`--logs DIR`). */
const LOGS_LOCK = '.jobrun.lock';

/**
 * Takes a `--logs DIR` folder for this run, or refuses the run (exit 2) while another
 * jobrun that lives writes its logs there: log names (`1-build.log`) are unique within
 * one run only, so two runs at once would write each other's logs. The folder is
 * claimed the way a journal is locked (`takeLock`): a lock left by a jobrun that died
 * is taken over, and a run after the first one ended reuses the folder (and the names
 * of its logs). `named`: the folder as the user gave it, for the message. Returns the
 * function that releases it.
 */
export function lockLogFolder(dir: string, named: string): () => void {
  const lockPath = path.join(dir, LOGS_LOCK);
  return takeLock(
    lockPath,
    (holder) =>
      `${named}: another jobrun (pid ${holder.pid}, since ${holder.since ?? '?'}) is writing its logs there; ` +
      `wait for it to end, or give this run a folder of its own (its lock: ${lockPath})`,
  );
}

/** Is the jobrun that owns the run folder `dir` still running? */
export function folderInUse(dir: string): boolean {
  const owner = readHolder(path.join(dir, OWNER_FILE));
  return owner !== undefined && holderAlive(owner);
}

/**
 * Removes the journals under `dir` but those of runs still going (a live lock keeps
 * its journal and itself). Returns how many journals went and how many stayed.
 */
export function removeJournals(dir: string): { removed: number; kept: number } {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return { removed: 0, kept: 0 };
  }
  const live = new Set<string>();
  for (const name of names) {
    if (!name.endsWith('.lock')) continue;
    const holder = readHolder(path.join(dir, name));
    if (holder !== undefined && holderAlive(holder)) live.add(name.slice(0, -'.lock'.length));
  }
  let removed = 0;
  for (const name of names) {
    // a journal, its lock and their temporary files all start with the journal's name
    const journal = name.replace(/(\.lock(\.\d+\.tmp)?|\.compact-\d+)$/, '');
    if (live.has(journal)) continue;
    fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    if (name.endsWith('.ndjson')) removed++;
  }
  if (live.size === 0) fs.rmSync(dir, { recursive: true, force: true });
  return { removed, kept: live.size };
}
