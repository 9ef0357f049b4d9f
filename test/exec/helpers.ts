import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../../src/model/job.js';
import type { ExecRequest } from '../../src/exec/types.js';

/** Absolute path of a script in fixtures/scripts. */
export function script(name: string): string {
  return fileURLToPath(new URL(`../../fixtures/scripts/${name}`, import.meta.url));
}

/** A job with harmless defaults; `cwd` should be a temp dir from {@link tempDirs}. */
export function makeJob(command: string, overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    name: 'job',
    command,
    index: 0,
    priority: 0,
    needs: [],
    killGraceMs: 200,
    retries: 0,
    backoff: { delayMs: 0, factor: 1, maxMs: 0, jitter: false },
    shell: '/bin/sh',
    cwd: tmpdir(),
    env: {},
    allowFailure: false,
    ...overrides,
  };
}

/** Temp dirs made during a test file, removed by `cleanup()` (call it in afterAll/afterEach). */
export function tempDirs(): { make(): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make() {
      const dir = mkdtempSync(join(tmpdir(), 'jobrun-exec-'));
      made.push(dir);
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * True when `pid` no longer runs. A killed process whose parent died is re-parented
 * to PID 1, which may never reap it (containers): a zombie counts as gone.
 */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Poll `condition` every `intervalMs` until it holds or `timeoutMs` passes. */
export async function waitFor(
  condition: () => boolean,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (condition()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** PIDs written one a line by a fixture script. */
export function readPids(file: string): number[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}

/** Kill leftovers a failing test may leave behind, ignoring the ones already gone. */
export function killQuietly(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Contents of a file, or '' when it does not exist (yet). */
export function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A request that runs `job` in `dir`, logging to `dir/job.log`. */
export function requestIn(
  dir: string,
  job: JobSpec,
  extra: Partial<ExecRequest> = {},
): ExecRequest {
  return {
    job: { ...job, cwd: dir },
    attempt: 1,
    logPath: join(dir, 'job.log'),
    worker: 'w1',
    ...extra,
  };
}
