import { hasRawBytes } from '../model/bytes.js';
import type { JobSpec } from '../model/job.js';

/** The program an attempt runs and its argv (argv[0] included), before any PATH lookup. */
export interface CommandLine {
  file: string;
  /** Arguments after argv[0]. */
  args: string[];
}

/**
 * What to execute for `job`: its `argv` directly (direct exec, no shell, as xargs
 * does), else `job.shell -c job.command`. Both executors start jobs through this one
 * function. Strings may carry raw bytes (`bytes.ts`); the spawner passes them exactly.
 */
export function commandLine(job: JobSpec): CommandLine {
  if (job.argv !== undefined && job.argv.length > 0) {
    return { file: job.argv[0]!, args: job.argv.slice(1) };
  }
  return { file: job.shell, args: ['-c', job.command] };
}

/**
 * `commandLine` for `node:child_process`, which passes argv only as UTF-8: a command
 * carrying raw bytes cannot be handed over as it is. Instead the shell gets a
 * pure-text line that rebuilds the exact bytes with `printf` octal escapes and runs
 * them with `eval`; the trailing `x` is a sentinel so `$(…)` keeps trailing newlines.
 * An argv with raw bytes goes the same way, as its shell-quoted form (`command`),
 * which is POSIX sh whatever shell the job names.
 */
export function textCommandLine(job: JobSpec): CommandLine {
  const line = commandLine(job);
  if (!hasRawBytes(line.file) && !line.args.some(hasRawBytes)) return line;
  const shell = job.argv !== undefined ? '/bin/sh' : job.shell;
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
