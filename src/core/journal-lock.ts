import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { bootId, procStat, sameProcess } from '../exec/proc.js';

/** Who holds a lock: a process, named for good by boot id and start time. */
export interface Holder {
  pid: number;
  boot?: string;
  start?: number;
  since?: string;
}

/**
 * One run at a time per journal. Two runs of the same manifest at once would
 * truncate and interleave each other's journal, so a second run is refused (exit 2)
 * while the first is alive. The lock is a file `<journal>.lock` naming its holder;
 * it is made under a temporary name and hard-linked into place, which either
 * succeeds whole or fails with EEXIST, so two runs can never both take it. A lock
 * whose holder is gone (kill -9, a reboot, a recycled pid) is stale and taken over.
 * A lock that cannot be written (a full disk, a read-only folder) refuses the run
 * too: without it nothing keeps a second run out. Returns the release function.
 */
export function lockJournal(journal: string, what: string): () => void {
  const lockPath = `${journal}.lock`;
  return takeLock(
    lockPath,
    (holder) =>
      `another jobrun (pid ${holder.pid}, since ${holder.since ?? '?'}) is running ${what}; ` +
      `wait for it to end or stop it (its lock: ${lockPath})`,
  );
}

/**
 * Takes the lock file `lockPath` for this jobrun, the way `lockJournal` does: whole or
 * not at all, a dead holder's lock taken over. A live holder refuses it with the usage
 * error `busy` words. Returns the release function.
 */
export function takeLock(lockPath: string, busy: (holder: Holder) => string): () => void {
  const me = thisProcess();
  const temp = `${lockPath}.${process.pid}.tmp`;
  const cannot = (err: unknown) =>
    new UsageError(`cannot write the lock ${lockPath}: ${(err as Error).message}`);
  try {
    // inside the try: a write that fails half way (ENOSPC) still made the file
    try {
      fs.writeFileSync(temp, JSON.stringify(me) + '\n');
    } catch (err) {
      throw cannot(err);
    }
    for (let tries = 0; tries < 3; tries++) {
      try {
        fs.linkSync(temp, lockPath);
        return () => releaseIfMine(lockPath, me);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw cannot(err);
      }
      const holder = readHolder(lockPath);
      if (holder !== undefined && holderAlive(holder)) throw new UsageError(busy(holder));
      fs.rmSync(lockPath, { force: true }); // stale: its jobrun is gone
    }
    throw new UsageError(`cannot take the lock ${lockPath}: other runs keep taking it`);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** This jobrun, as a lock or a run folder names its owner. */
export function thisProcess(): Holder {
  return {
    pid: process.pid,
    boot: bootId(),
    start: procStat(process.pid)?.startTicks,
    since: new Date().toISOString(),
  };
}

/** Who wrote the holder file `file`; undefined when it is unreadable or gone. */
export function readHolder(lockPath: string): Holder | undefined {
  try {
    const holder = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as Holder;
    return typeof holder.pid === 'number' ? holder : undefined;
  } catch {
    return undefined; // unreadable or gone: nobody holds it
  }
}

/** Is the process that wrote the lock (or a run entry) still running (this boot, same start time)? */
export function holderAlive(holder: Holder): boolean {
  // killed under a parent that has not reaped it yet: a zombie keeps its pid and start
  // time, but runs nothing and holds nothing
  if (procStat(holder.pid)?.state === 'Z') return false;
  const same = sameProcess(holder);
  if (same !== undefined) return same;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseIfMine(lockPath: string, me: Holder): void {
  const holder = readHolder(lockPath);
  if (holder?.pid === me.pid && holder.start === me.start) fs.rmSync(lockPath, { force: true });
}
