import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import { makeJob, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());

/**
 * The shell (group leader) dies of SIGTERM at once, but its child traps TERM and needs
 * a moment to clean up: it must get the kill grace, not an instant SIGKILL.
 */
const CHILD_CLEANS_UP =
  `sh -c 'trap "sleep 0.3; echo cleaned > done; exit 0" TERM; echo ready > ready; ` +
  `while :; do sleep 0.05; done' & wait`;

/** Starts `command` in a temp dir and resolves once it wrote the file "ready". */
async function startReady(command: string, killGraceMs: number) {
  const dir = dirs.make();
  const attempt = createLocalExecutor().start({
    job: makeJob(command, { cwd: dir, killGraceMs }),
    attempt: 1,
    logPath: join(dir, 'log'),
    worker: '1',
  });
  for (let i = 0; i < 200 && !existsSync(join(dir, 'ready')); i++)
    await new Promise((r) => setTimeout(r, 20));
  return { dir, attempt };
}

describe('kill grace for the rest of the group', () => {
  it('lets a child that traps TERM finish its cleanup after the shell died', async () => {
    const { dir, attempt } = await startReady(CHILD_CLEANS_UP, 5000);
    attempt.stop();
    const result = await attempt.result;
    expect(readFileSync(join(dir, 'done'), 'utf8')).toBe('cleaned\n');
    expect(result.durationMs).toBeLessThan(5000);
  });

  it('still SIGKILLs the leftovers when the grace runs out, and stop(true) cuts it short', async () => {
    const stubborn = `sh -c 'trap "" TERM; echo ready > ready; while :; do sleep 0.05; done' & wait`;
    const { attempt } = await startReady(stubborn, 60_000);
    attempt.stop();
    await new Promise((r) => setTimeout(r, 200));
    attempt.stop(true);
    const result = await attempt.result;
    expect(result.durationMs).toBeLessThan(30_000);
  });
});
