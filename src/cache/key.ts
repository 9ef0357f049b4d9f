/**
 * A cached job's key: every part of what the job does and reads, each hashed on its
 * own so that a miss can say which part changed (`explain.ts`), and the key itself
 * the hash of all the parts.
 */
import path from 'node:path';
import { recoverRawNames } from '../manifest/raw-names.js';
import { encodeBytes } from '../model/bytes.js';
import type { JobCacheSpec, JobSpec } from '../model/job.js';
import { literalPath } from './globs.js';
import { sha256, STATE_FOLDER, type FileHasher, type FoundPart } from './hasher.js';

/** Bumped when what a key covers changes, so old entries are never taken for new ones. */
const KEY_VERSION = '1';

/** A key and the parts it was made of (label → hash or value). */
export interface Keyed {
  key: string;
  parts: Record<string, string>;
}

/** The key's folder part: `cwd` relative to the run's folder, `/`-separated. */
export function keyFolder(cache: JobCacheSpec, cwd: string): string {
  return cache.folder ?? (path.relative(cache.root, cwd).split(path.sep).join('/') || '.');
}

/** The parts of the job itself, without reading a file. */
function jobParts(
  job: JobSpec,
  cache: JobCacheSpec,
  environ: NodeJS.ProcessEnv,
): Record<string, string> {
  const parts: Record<string, string> = {
    version: KEY_VERSION,
    command: sha256(job.argv ? JSON.stringify(job.argv) : job.command),
    shell: job.shell,
    folder: keyFolder(cache, job.cwd),
    outputs: sha256(JSON.stringify(cache.outputs)),
    capture: job.capture ? `${job.capture.mode} ${job.capture.maxBytes}` : 'none',
  };
  // a value's bytes (as the job gets them), not its text: two values that are not UTF-8
  // would both hash as U+FFFD
  const hash = (value: string) => sha256(encodeBytes(value));
  // a fan-in's input (`stdin: { from }`): its sources' results, cached or not
  if (job.stdin !== undefined) parts.stdin = hash(job.stdin);
  for (const [name, value] of Object.entries(job.env)) parts[`env ${name}`] = hash(value);
  for (const name of cache.env) {
    if (Object.hasOwn(job.env, name)) continue; // the job sets it: its value is keyed above
    const value = environ[name];
    parts[`env ${name}`] = value === undefined ? 'missing' : hash(value);
  }
  return parts;
}

/**
 * The paths `files` and `globs` (relative to `cwd`) stand for: what each glob matches (files and
 * folders, dotfiles too, links to folders matched but not gone into; jobrun's own `.jobrun`
 * never), and a plain path (escaped glob characters
 * being part of a name, see `literalPath`) as itself even when it does not exist, so
 * that a missing input is part of the key.
 */
async function expandInputs(globs: string[], files: string[], cwd: string): Promise<string[]> {
  // item files are names, never patterns (`a[1].csv` is that file)
  const found = new Set<string>(files.map((f) => path.normalize(f)));
  if (globs.length === 0) return [...found];
  const { default: fg } = await import('fast-glob');
  for (const glob of globs) {
    const plain = literalPath(glob, fg.isDynamicPattern);
    if (plain !== undefined) {
      found.add(path.normalize(plain));
      continue;
    }
    const matches = await fg(glob, {
      cwd,
      dot: true,
      onlyFiles: false,
      // a link to a folder is matched, not gone into: links may loop (pnpm links
      // packages both ways), and its contents are hashed once each (`FileHasher.parts`)
      followSymbolicLinks: false,
      ignore: [`**/${STATE_FOLDER}`, `**/${STATE_FOLDER}/**`],
    });
    for (const match of recoverRawNames(matches, cwd)) found.add(path.normalize(match));
  }
  return [...found].sort();
}

/** Computes `job`'s key: its own parts, then the contents of its inputs and item files. */
export async function computeKey(
  job: JobSpec,
  cache: JobCacheSpec,
  hasher: FileHasher,
  environ: NodeJS.ProcessEnv = process.env,
  needKeys: Record<string, string> = {},
): Promise<Keyed> {
  const parts = jobParts(job, cache, environ);
  // a need's key stands for what it made: a need that had to run makes its dependants run
  for (const [name, key] of Object.entries(needKeys)) parts[`need ${name}`] = key;
  const files = await expandInputs(cache.inputs, cache.files ?? [], job.cwd);
  const found: FoundPart[] = [];
  for (const rel of files) await hasher.parts(job.cwd, rel, found);
  for (const { label, value } of found) parts[label] = value;
  return keyOf(parts);
}

/** The key `parts` make. */
export function keyOf(parts: Record<string, string>): Keyed {
  const sorted = Object.keys(parts).sort();
  const key = sha256(sorted.map((label) => `${label}\0${parts[label]}`).join('\n'));
  return { key, parts };
}
