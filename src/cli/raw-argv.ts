import { readFileSync } from 'node:fs';
import { decodeBytes } from '../model/bytes.js';

/**
 * jobrun's own arguments with their exact bytes. Node decodes argv as UTF-8 and turns
 * bytes that are not into U+FFFD, so `::: "$(printf 'caf\xe9')"` would arrive changed.
 * When an argument has a U+FFFD, the raw arguments are read back from
 * `/proc/self/cmdline` (Linux) and carried with `decodeBytes`; the tail of that list is
 * used only when it decodes to exactly `args`. Elsewhere `args` are returned as given.
 */
export function rawArgs(args: string[]): string[] {
  if (!args.some((a) => a.includes('\uFFFD'))) return args;
  let cmdline: Buffer;
  try {
    cmdline = readFileSync('/proc/self/cmdline');
  } catch {
    return args;
  }
  const parts: Buffer[] = [];
  for (let start = 0; start < cmdline.length;) {
    const end = cmdline.indexOf(0, start);
    const stop = end === -1 ? cmdline.length : end;
    parts.push(cmdline.subarray(start, stop));
    start = stop + 1;
  }
  const tail = parts.slice(parts.length - args.length);
  if (tail.length !== args.length || tail.some((b, i) => b.toString('utf8') !== args[i])) {
    return args;
  }
  return tail.map((b) => decodeBytes(b));
}
