/**
 * The program and arguments that run a job through `node:child_process`.
 *
 * - A job with `argv` runs it directly, without a shell (as xargs does).
 * - Otherwise `job.shell -c job.command`.
 *
 * `node:child_process` passes argv only as UTF-8, so a command carrying raw bytes
 * (escaped by `decodeBytes`) cannot be handed over as it is. Instead the shell gets a
 * pure-text line that rebuilds the exact bytes with `printf` octal escapes and runs
 * them with `eval`; the trailing `x` is a sentinel so `$(…)` keeps trailing newlines.
 * An argv with raw bytes goes the same way, as its shell-quoted form. (Spawners that
 * pass bytes themselves do not need this.)
 */
import type { JobSpec } from '../model/job.js';
import { hasRawBytes } from '../model/bytes.js';

export interface Invocation {
  file: string;
  args: string[];
}

export function invocation(job: JobSpec): Invocation {
  if (job.argv !== undefined && job.argv.length > 0 && !job.argv.some(hasRawBytes)) {
    return { file: job.argv[0]!, args: job.argv.slice(1) };
  }
  // An argv's display form is POSIX sh syntax, whatever shell the job names.
  const shell = job.argv !== undefined ? '/bin/sh' : job.shell;
  if (!hasRawBytes(job.command)) return { file: shell, args: ['-c', job.command] };
  return { file: shell, args: ['-c', rebuildInShell(job.command)] };
}

/** A text-only shell line that runs exactly the bytes of `command`. */
export function rebuildInShell(command: string): string {
  let format = '';
  for (const ch of command) {
    const c = ch.charCodeAt(0);
    if (ch.length === 1 && c >= 0xdc80 && c <= 0xdcff) format += `\\${(c - 0xdc00).toString(8)}`;
    else if (ch === '%') format += '%%';
    else if (ch === '\\') format += '\\\\';
    else if (ch === "'") format += `'\\''`;
    else format += ch;
  }
  return `__jobrun_line=$(printf '${format}'; printf x) && eval "unset __jobrun_line; \${__jobrun_line%x}"`;
}
