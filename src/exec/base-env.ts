import { readFileSync } from 'node:fs';
import { decodeBytes } from '../model/bytes.js';

/**
 * The environment every job starts from: jobrun's own, as it was given, taken once.
 * Both executors lay a job's `env` over this same snapshot, so a job finds the same
 * variables whoever starts it, and nothing that the spawner's interpreter adds to its
 * own environment (Python's C-locale coercion sets `LC_CTYPE`).
 *
 * A snapshot because spawn walks the env it is given on every call, and walking
 * `process.env` (which asks the OS for each variable) costs more per job than the
 * fork itself on small jobs.
 */
let snapshot: Record<string, string> | undefined;

export function baseEnv(): Record<string, string> {
  if (snapshot === undefined) {
    snapshot = {};
    for (const [key, value] of Object.entries(process.env))
      if (value !== undefined) snapshot[key] = value;
    restoreBytes(snapshot);
  }
  return snapshot;
}

/**
 * `process.env` is text: Node decodes each variable as UTF-8, a value's invalid bytes
 * become U+FFFD and a name that is not UTF-8 is left out. On Linux the exact bytes are
 * in /proc/self/environ (the block jobrun started with); each such variable that
 * `process.env` still holds as Node decoded it gets its bytes back, as the escapes of
 * `model/bytes.ts`, which the spawner hands on exactly (`node:child_process` cannot: its
 * jobs still get U+FFFD). What jobrun changed or took out since stays as it is now: a
 * variable it scrubs is gone from that block too (`cli/scrub-environ.ts`).
 */
function restoreBytes(env: Record<string, string>): void {
  let block: Buffer;
  try {
    block = readFileSync('/proc/self/environ');
  } catch {
    return; // not Linux: text is all there is
  }
  for (let at = 0; at < block.length;) {
    const nul = block.indexOf(0, at);
    const end = nul === -1 ? block.length : nul;
    const entry = block.subarray(at, end);
    at = end + 1;
    const eq = entry.indexOf(0x3d);
    if (eq <= 0) continue;
    const [name, value] = [entry.subarray(0, eq), entry.subarray(eq + 1)];
    const exact = { name: decodeBytes(name), value: decodeBytes(value) };
    if (exact.name.isWellFormed() && exact.value.isWellFormed()) continue; // Node read it right
    if (!exact.name.isWellFormed()) {
      env[exact.name] = exact.value; // Node left it out
    } else if (env[exact.name] === value.toString('utf8')) {
      env[exact.name] = exact.value;
    }
  }
}

/** A job's whole environment: the snapshot with the job's `env` over it. */
export function jobEnvironment(env: Record<string, string>): Record<string, string> {
  const base = baseEnv();
  return Object.keys(env).length === 0 ? base : { ...base, ...env };
}
