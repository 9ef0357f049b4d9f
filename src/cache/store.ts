/**
 * The cache on disk, content-addressed and safe to share between runs and machines:
 *
 *   entries/<key>.json   what a success left: its outputs (path, mode, blob) and result
 *   blobs/<sha256>       output contents, stored once however many entries name them
 *   names/<sha256>.json  the key parts of the last entry stored for a job name (explain)
 *   tmp/                 files being written
 *
 * Every file is written under a unique temporary name in `tmp/` and renamed into
 * place when complete, so a reader sees a whole file or none: an entry cut short by
 * a crash or kill -9 is never read (its temporary file is removed by the next run
 * that opens the cache, see `removeDeadTemps`). An entry is renamed into place only after all of
 * its blobs are, and a blob is checked against its hash as it is restored, so a
 * damaged or evicted blob makes a miss, never a wrong output. A restored file is written
 * beside its place first (`.jobrun-restore.<host>.<pid>.….tmp`); one a dead restorer
 * left is removed by the next restore into that folder, and is never an output.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { holderAlive } from '../core/journal-lock.js';
import type { CapturedResult } from '../model/result.js';
import { fsPath, hashFile, sha256, SMALL_FILE } from './hasher.js';

/** One output file of an entry. */
export interface StoredOutput {
  /** Relative to the job's folder. */
  path: string;
  mode: number;
  sha: string;
  size: number;
}

export interface CacheEntry {
  version: 1;
  name: string;
  key: string;
  parts: Record<string, string>;
  outputs: StoredOutput[];
  result?: CapturedResult;
  resultTruncated?: true;
  /** Epoch ms the success was stored. */
  savedAt: number;
}

const HOST = os.hostname().replace(/[^A-Za-z0-9.-]/g, '_');

/** A restored file before it is renamed into place: `.jobrun-restore.<host>.<pid>.<random>.tmp`. */
const RESTORE_TEMP = /^\.jobrun-restore\.(.*\.\d+\.[0-9a-f]{12})\.tmp$/;

/** Is `name` a file a restore writes before renaming it into place (never a job's output)? */
export function isRestoreTemp(name: string): boolean {
  return RESTORE_TEMP.test(name);
}

/**
 * A temporary file of a writer on another machine (or whose pid was reused) is only
 * known to be abandoned by its age: no store takes this long.
 */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;
/** A dead writer's temporary file is only removed once it stopped changing this long ago. */
const QUIET_TEMP_MS = 60_000;

/** What `removeDeadTemps` removed. */
export interface RemovedTemps {
  files: number;
  bytes: number;
}

export class CacheStore {
  constructor(readonly dir: string) {}

  private entryPath(key: string): string {
    return path.join(this.dir, 'entries', `${key}.json`);
  }

  blobPath(sha: string): string {
    return path.join(this.dir, 'blobs', sha);
  }

  private namePath(name: string): string {
    return path.join(this.dir, 'names', `${sha256(name)}.json`);
  }

  /**
   * A unique temporary file in `tmp/`, unique across processes and machines: named
   * `<host>.<pid>.<random>`, so that its writer can be told dead (`removeDeadTemps`).
   */
  private async temp(): Promise<string> {
    const dir = path.join(this.dir, 'tmp');
    await makeDir(dir);
    return path.join(dir, `${HOST}.${process.pid}.${randomBytes(6).toString('hex')}`);
  }

  /**
   * Removes the temporary files of writers that died mid-store (`kill -9`, a crash):
   * those of a process of this machine that is gone, and any older than a day (a
   * writer elsewhere cannot be asked). A live writer's are left alone; one removed
   * under a writer that was alive after all only makes its store fail (not cached).
   */
  async removeDeadTemps(now = Date.now()): Promise<RemovedTemps> {
    return removeAbandoned(path.join(this.dir, 'tmp'), (name) => name, now);
  }

  /** Writes `text` to `file` whole or not at all. */
  private async writeWhole(file: string, text: string): Promise<void> {
    const temp = await this.temp();
    try {
      await fs.promises.writeFile(temp, text);
      await makeDir(path.dirname(file));
      await fs.promises.rename(temp, file);
    } finally {
      await fs.promises.rm(temp, { force: true });
    }
  }

  /** The entry stored under `key`; undefined when there is none or it cannot be read. */
  async read(key: string): Promise<CacheEntry | undefined> {
    return readJson<CacheEntry>(this.entryPath(key), (e) => e.version === 1 && e.key === key);
  }

  /** The key parts of the last entry stored for a job named `name`. */
  async last(name: string): Promise<Pick<CacheEntry, 'key' | 'parts'> | undefined> {
    const file = this.namePath(name);
    return readJson<CacheEntry>(file, (e) => e.version === 1 && e.name === name);
  }

  /** Stores the file at `abs` as a blob (hashed while copied); its output record. */
  async saveBlob(abs: string, rel: string): Promise<StoredOutput> {
    const stat = await fs.promises.stat(fsPath(abs));
    const temp = await this.temp();
    try {
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(fs.createReadStream(fsPath(abs)), tap, fs.createWriteStream(temp));
      const sha = hash.digest('hex');
      const blob = this.blobPath(sha);
      if (!fs.existsSync(blob)) {
        await makeDir(path.dirname(blob));
        await fs.promises.rename(temp, blob);
      }
      return { path: rel, mode: stat.mode & 0o7777, sha, size: stat.size };
    } finally {
      await fs.promises.rm(temp, { force: true });
    }
  }

  /** Stores `entry` (its blobs are in place already) and makes it its name's last. */
  async write(entry: CacheEntry): Promise<void> {
    const text = JSON.stringify(entry);
    await this.writeWhole(this.entryPath(entry.key), text);
    const { version, name, key, parts, savedAt } = entry;
    await this.writeWhole(
      this.namePath(name),
      JSON.stringify({ version, name, key, parts, savedAt }),
    );
  }

  /** Marks an entry used now: eviction removes the least recently used first. */
  touch(key: string): void {
    const now = new Date();
    try {
      fs.utimesSync(this.entryPath(key), now, now);
    } catch {
      // evicted meanwhile by another run: it was restored all the same
    }
  }

  /**
   * Puts `entry`'s outputs back under `cwd`, byte for byte with their modes. An output
   * already there with the same content is left alone. False (and nothing changed)
   * when a blob is missing; false when one turns out damaged as it is copied, or is
   * removed meanwhile (another run's eviction).
   */
  async restore(entry: CacheEntry, cwd: string): Promise<boolean> {
    const missing: { out: StoredOutput; dest: string }[] = [];
    for (const out of entry.outputs) {
      const dest = path.resolve(cwd, out.path);
      if (!(await sameFile(dest, out))) missing.push({ out, dest });
    }
    for (const { out } of missing) {
      if (statOf(this.blobPath(out.sha))?.size !== out.size) return false;
    }
    // what a restorer killed there (kill -9) left beside the files it was putting back
    for (const folder of new Set(missing.map(({ dest }) => path.dirname(dest))))
      await removeAbandoned(folder, (name) => RESTORE_TEMP.exec(name)?.[1]);
    for (const { out, dest } of missing) if (!(await this.copyOut(out, dest))) return false;
    return true;
  }

  /** Copies a blob to `dest` through a temporary file beside it, checking its hash. */
  private async copyOut(out: StoredOutput, dest: string): Promise<boolean> {
    await makeDir(path.dirname(dest));
    const temp = fsPath(
      path.join(
        path.dirname(dest),
        `.jobrun-restore.${HOST}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
      ),
    );
    try {
      if (out.size <= SMALL_FILE) {
        const bytes = fs.readFileSync(this.blobPath(out.sha));
        if (sha256(bytes) !== out.sha) return false;
        fs.writeFileSync(temp, bytes, { mode: out.mode });
        fs.chmodSync(temp, out.mode); // the umask may have taken bits off
        fs.renameSync(temp, fsPath(dest));
        return true;
      }
      const hash = createHash('sha256');
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(fs.createReadStream(this.blobPath(out.sha)), tap, fs.createWriteStream(temp));
      if (hash.digest('hex') !== out.sha) return false;
      await fs.promises.chmod(temp, out.mode);
      await fs.promises.rename(temp, fsPath(dest));
      return true;
    } catch (err) {
      // its blob was removed since it was found (another run's --cache-max): a miss, as
      // when it was found missing
      const gone = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (gone && statOf(this.blobPath(out.sha)) === undefined) return false;
      throw err;
    } finally {
      await fs.promises.rm(temp, { force: true });
    }
  }
}

/**
 * Removes the temporary files in `dir` whose writers died: those of a process of this
 * machine that is gone, once unchanged for a minute, and any a day old (a writer
 * elsewhere cannot be asked). `writer` gives a file's `<host>.<pid>.<random>` part, or
 * undefined for a file that is no temporary one.
 */
async function removeAbandoned(
  dir: string,
  writer: (name: string) => string | undefined,
  now = Date.now(),
): Promise<RemovedTemps> {
  const removed: RemovedTemps = { files: 0, bytes: 0 };
  const alive = new Map<number, boolean>();
  for (const name of await fs.promises.readdir(fsPath(dir)).catch(() => [] as string[])) {
    const temp = writer(name);
    if (temp === undefined) continue;
    const file = path.join(dir, name);
    const stat = await fs.promises.stat(fsPath(file)).catch(() => undefined);
    if (!stat) continue; // renamed into place meanwhile
    const pid = ownPid(temp);
    const quiet = now - stat.mtimeMs;
    let dead = quiet > STALE_TEMP_MS;
    // a writer in another pid namespace (a container with this host name) looks dead
    // here: its file must also have stopped growing
    if (!dead && pid !== undefined && quiet > QUIET_TEMP_MS) {
      if (!alive.has(pid)) alive.set(pid, holderAlive({ pid }));
      dead = alive.get(pid) === false;
    }
    if (!dead) continue;
    await fs.promises.rm(fsPath(file), { force: true });
    removed.files++;
    removed.bytes += stat.size;
  }
  return removed;
}

/**
 * `mkdir -p` that says why it failed: Node's recursive mkdir reports ENOENT ("no such
 * file or directory") where a folder may not be made (a read-only mount, EROFS; no
 * permission, EACCES). Then each missing folder is made in turn, the first that cannot
 * be saying why.
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(fsPath(dir), { recursive: true });
  } catch (err) {
    const parent = path.dirname(dir);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) throw err;
    await makeDir(parent);
    await fs.promises.mkdir(fsPath(dir)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e;
    });
  }
}

/** The pid in a temporary file's name when its writer ran on this machine. */
function ownPid(name: string): number | undefined {
  const match = /^(.*)\.(\d+)\.[0-9a-f]{12}$/.exec(name);
  if (!match || match[1] !== HOST) return undefined;
  const pid = Number(match[2]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** Is `dest` already the output (same size, mode and content)? */
async function sameFile(dest: string, out: StoredOutput): Promise<boolean> {
  const stat = statOf(fsPath(dest));
  if (!stat?.isFile() || stat.size !== out.size || (stat.mode & 0o7777) !== out.mode) return false;
  return (await hashFile(dest, stat.size)) === out.sha;
}

function statOf(file: string | Buffer): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/**
 * A JSON file that passes `valid`, or undefined (absent, unreadable, not JSON, not
 * valid). Read at once: entries are small, and this is on every lookup's path.
 */
async function readJson<T>(file: string, valid: (value: T) => boolean): Promise<T | undefined> {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as T;
    return value !== null && typeof value === 'object' && valid(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
