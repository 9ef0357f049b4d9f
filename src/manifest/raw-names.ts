/**
 * File names that are not UTF-8, recovered after a glob.
 *
 * fast-glob reads directories as UTF-8 text, so a name such as `caf\xe9.txt` comes back
 * with U+FFFD where the bad byte was, and that path does not exist. For each path with
 * a U+FFFD, each such segment is looked up again with `readdir(…, { encoding:
 * 'buffer' })`: the entries whose lossy decoding equals the segment are the real
 * names, carried on with `decodeBytes` so `encodeBytes` gives the exact bytes back.
 * (Two names that decode to the same lossy text are both found; the result is
 * de-duplicated, so each real file appears once.)
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { decodeBytes, encodeBytes, hasRawBytes } from '../model/bytes.js';

/**
 * The files among `paths` (relative to `cwd`, real names): a link to a file is one, a
 * folder or a link to one is not. For globs that do not go into links to folders
 * (`followSymbolicLinks: false`), which would then leave links to files out too.
 */
export function filesOnly(paths: string[], cwd: string): string[] {
  return paths.filter((p) => {
    const file = path.resolve(cwd, p);
    try {
      return statSync(hasRawBytes(file) ? encodeBytes(file) : file).isFile();
    } catch {
      return false; // gone meanwhile, or a broken link
    }
  });
}

/** `paths` (relative to `cwd`) with every lossy name replaced by the real one(s). */
export function recoverRawNames(paths: string[], cwd: string): string[] {
  if (!paths.some((p) => p.includes('\uFFFD'))) return paths;
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of paths) {
    for (const real of p.includes('\uFFFD') ? realPaths(p, cwd) : [p]) {
      if (!seen.has(real)) out.push(real);
      seen.add(real);
    }
  }
  return out;
}

function realPaths(lossy: string, cwd: string): string[] {
  const absolute = lossy.startsWith('/');
  let prefixes = [absolute ? '/' : ''];
  for (const segment of (absolute ? lossy.slice(1) : lossy).split('/')) {
    if (!segment.includes('\uFFFD')) {
      prefixes = prefixes.map((pre) => join(pre, segment));
      continue;
    }
    prefixes = prefixes.flatMap((pre) =>
      entries(path.join(cwd, pre))
        .filter((name) => name.toString('utf8') === segment)
        .map((name) => join(pre, decodeBytes(name))),
    );
  }
  return prefixes.length > 0 ? prefixes : [lossy];
}

function join(prefix: string, segment: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix + segment : `${prefix}/${segment}`;
}

/** A folder's entries as bytes; the folder's own path may hold escaped bytes. */
function entries(dir: string): Buffer[] {
  try {
    return readdirSync(encodeBytes(dir), { encoding: 'buffer' });
  } catch {
    return [];
  }
}
