/**
 * Content hashes of files and folders, for cache keys. Contents only: a symlink is
 * followed to what it points at, a folder is its sorted listing plus everything in
 * it (but jobrun's own `.jobrun`), and modification times are never part of a hash.
 *
 * Each file is read once per run however many jobs name it: hashes are remembered
 * for the run by path and identity (device, inode, size, change time), so a file a
 * job rewrote meanwhile is read again. Nothing is remembered across runs.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decodeBytes, encodeBytes, hasRawBytes } from '../model/bytes.js';

/** The path as fs takes it: the exact bytes of a name that is not UTF-8 (see `bytes.ts`). */
export function fsPath(file: string): string | Buffer {
  return hasRawBytes(file) ? encodeBytes(file) : file;
}

/**
 * jobrun's own folder (logs, journal, cache): it changes with every run, so a folder
 * or glob that takes it in is never part of a key (`inputs: ["."]` would never hit).
 */
export const STATE_FOLDER = '.jobrun';

/** The hash of a string, hex. */
export function sha256(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Files up to this size are read in one synchronous call: a lookup is a dozen small
 * reads, and on a busy machine each trip through libuv's thread pool costs more than
 * the read itself. Larger files are streamed.
 */
export const SMALL_FILE = 1024 * 1024;

/** The sha256 of `file` (following symlinks) of `size` bytes: read at once when small, else streamed. */
export async function hashFile(file: string, size = Infinity): Promise<string> {
  if (size <= SMALL_FILE) return sha256(fs.readFileSync(fsPath(file)));
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(fsPath(file)), hash);
  return hash.digest('hex');
}

/** One part of a key made from the file system: a file's content, a folder's listing. */
export interface FoundPart {
  /** `input data/a.csv` or `folder data`, relative to the job's folder. */
  label: string;
  value: string;
}

export class FileHasher {
  private readonly memo = new Map<string, Promise<string>>();
  /** How many files were actually read (for tests and the bench). */
  reads = 0;

  /** The content hash of `abs`, a file already stat-ed (following symlinks). */
  file(abs: string, stat: fs.Stats): Promise<string> {
    const id = `${abs}\0${stat.dev}:${stat.ino}:${stat.size}:${stat.ctimeMs}`;
    let hash = this.memo.get(id);
    if (hash === undefined) {
      this.reads++;
      hash = hashFile(abs, stat.size);
      this.memo.set(id, hash);
      // a failed read is not remembered: the next job tries again and reports it
      hash.catch(() => this.memo.delete(id));
    }
    return hash;
  }

  /**
   * The parts for `rel` (relative to `cwd`): a file's content, or a folder's listing
   * and, recursively, the contents of what it holds. A path that does not exist (or a
   * broken link) is part of the key as missing.
   */
  async parts(cwd: string, rel: string, out: FoundPart[], seen = new Set<string>()): Promise<void> {
    const abs = path.resolve(cwd, rel);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(fsPath(abs));
    } catch (err) {
      if (!isMissing(err)) throw err;
      out.push({ label: `input ${rel}`, value: 'missing' });
      return;
    }
    if (stat.isFile()) {
      out.push({ label: `input ${rel}`, value: await this.file(abs, stat) });
      return;
    }
    if (!stat.isDirectory()) {
      // a FIFO or a device has no contents to hash; its kind is what the key knows
      out.push({ label: `input ${rel}`, value: 'special file' });
      return;
    }
    const id = `${stat.dev}:${stat.ino}`;
    if (seen.has(id)) return; // a link back up the tree: its contents are counted once
    seen.add(id);
    const names = fs
      .readdirSync(fsPath(abs), { encoding: 'buffer' })
      .map((name) => decodeBytes(name))
      .filter((name) => name !== STATE_FOLDER)
      .sort();
    out.push({ label: `folder ${rel}`, value: sha256(names.join('\0')) });
    for (const name of names) await this.parts(cwd, path.join(rel, name), out, seen);
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP';
}
