import path from 'node:path';

/**
 * Where one attempt's output goes: `<logDir>/<name>.log`, then `<name>.attempt-2.log`
 * for retries. Names are made file-safe; a name that had to change gets its index
 * appended so two jobs never share a file.
 */
export function logPathFor(logDir: string, name: string, index: number, attempt: number): string {
  let safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100);
  if (safe !== name || safe.startsWith('.')) safe = `${safe}-${index + 1}`;
  const suffix = attempt === 1 ? '.log' : `.attempt-${attempt}.log`;
  return path.join(logDir, safe + suffix);
}
