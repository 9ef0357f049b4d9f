import { spawn } from 'node:child_process';

/**
 * Runs a user's hook command (`alerts.run`, `on_end`) with `/bin/sh -c`, jobrun's
 * environment plus `vars`, stdin closed and its output on jobrun's stderr. Resolves
 * with its exit code (or why it could not start); never rejects: a hook that fails
 * is reported, it does not change the run.
 */
export function runHook(command: string, vars: Record<string, string>): Promise<number | string> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      env: { ...process.env, ...vars },
      stdio: ['ignore', 2, 2],
    });
    child.on('error', (err) => resolve(err.message));
    child.on('close', (code, signal) => resolve(code ?? `killed by ${signal ?? 'a signal'}`));
  });
}
