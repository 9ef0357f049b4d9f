import fs from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';

/**
 * Report files are whole or absent: each is written under a temporary name in
 * its own folder and renamed over the target when complete, so a crash, a full
 * disk or a kill never leaves an empty file, half a report, or the previous run's
 * report looking like this run's. Temporary files still pending when jobrun exits
 * are removed by `removePendingTemps` (the CLI's exit hook).
 */

const pending = new Set<string>();

/** A writer that gets the open stream; it resolves once it wrote everything. */
export type WriteBody = string | ((out: fs.WriteStream) => Promise<void>);

/** The temporary name next to `file`: same folder (so rename is atomic), hidden, per process. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
}

/** Remembers a temporary file to remove if jobrun exits before renaming it. */
export function trackTemp(temp: string): void {
  pending.add(temp);
}

export function untrackTemp(temp: string): void {
  pending.delete(temp);
}

/** Removes every temporary file still pending; synchronous, for `process.on('exit')`. */
export function removePendingTemps(): void {
  for (const temp of pending) fs.rmSync(temp, { force: true });
  pending.clear();
}

/**
 * The file a report goes to: the target of a symlink (renaming over the link would
 * replace it), or undefined for something that is not a regular file (`/dev/stdout`,
 * a FIFO, `/dev/full`), which is written in place: there is nothing to rename over.
 */
export function renameTarget(file: string): string | undefined {
  const abs = path.resolve(file);
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(abs);
  } catch {
    return abs;
  }
  return stat.isFile() ? fs.realpathSync(abs) : undefined;
}

/** Writes `body` to `file` atomically (see above). Errors name the file and the errno. */
export async function writeFileAtomic(file: string, body: WriteBody): Promise<void> {
  const target = renameTarget(file);
  if (target === undefined) return named(file, writeTo(file, body));
  const temp = tempPathFor(target);
  trackTemp(temp);
  try {
    await named(file, writeTo(temp, body));
    await named(file, fs.promises.rename(temp, target));
  } finally {
    fs.rmSync(temp, { force: true });
    untrackTemp(temp);
  }
}

async function writeTo(file: string, body: WriteBody): Promise<void> {
  if (typeof body === 'string') return fs.promises.writeFile(file, body);
  const out = fs.createWriteStream(file);
  const failed = once(out, 'error').then(([err]) => Promise.reject(err as Error));
  await Promise.race([
    (async () => {
      await body(out);
      out.end();
      await once(out, 'finish');
    })(),
    failed,
  ]);
  failed.catch(() => {});
}

/** Rejects with a message that names the file: `cannot write r.json: ENOSPC: no space …`. */
async function named<T>(file: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    throw new Error(`cannot write ${file}: ${(err as Error).message}`, { cause: err });
  }
}
