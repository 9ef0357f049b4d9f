import path from 'node:path';

/**
 * Where one attempt's output goes: `<logDir>/<name>.log`, then `<name>.attempt-2.log`
 * for retries. Names are made file-safe; a name that had to change gets its index
 * appended so two jobs never share a file.
 */
export function logPathFor(logDir: string, name: string, index: number, attempt: number): string {
  const suffix = attempt === 1 ? '.log' : `.attempt-${attempt}.log`;
  return path.join(logDir, safeFileName(name, index) + suffix);
}

/**
 * A job's name as one file name: characters outside `A-Za-z0-9._-` become `_`, and a
 * name that had to change (or starts with a dot) gets its 1-based index appended.
 */
export function safeFileName(name: string, index: number): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);
  return safe !== name || safe.startsWith('.') ? `${safe}-${index + 1}` : safe;
}

/**
 * The files that keep one attempt's stdout and stderr apart, beside its log:
 * `<name>.stdout` / `<name>.stderr` (`.attempt-2.stdout` …).
 */
export function streamPathsFor(logPath: string): { stdoutPath: string; stderrPath: string } {
  const stem = logPath.replace(/\.log$/, '');
  return { stdoutPath: `${stem}.stdout`, stderrPath: `${stem}.stderr` };
}
