import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from '../backends/redis-server.js';
import { procStat } from '../../src/exec/proc.js';
import { BIN, ROOT, waitFor } from './helpers.js';
import { Batch } from './operate-helpers.js';

/** A `jobrun worker` process; its stderr is kept for assertions and debugging. */
export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started = new Set<ChildProcess>();

/** Starts `jobrun worker <url> …` and waits until it says it is serving. */
export async function startWorker(
  url: string | undefined,
  args: string[],
  cwd = ROOT,
  env: NodeJS.ProcessEnv = {},
): Promise<WorkerProcess> {
  const argv = url === undefined ? args : [url, ...args];
  const child = spawn(process.execPath, [BIN, 'worker', ...argv], {
    cwd,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  started.add(child);
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  await waitFor(() => err.includes('serving') || child.exitCode !== null, 30_000, 'worker start');
  if (child.exitCode !== null) throw new Error(`worker exited: ${err}`);
  return { child, pid: child.pid!, stderr: () => err, exited };
}

/** Kills every worker this file started (afterAll). */
export async function killWorkers(): Promise<void> {
  await Promise.all(
    [...started].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  started.clear();
}

/**
 * Process groups a test may leave behind, to kill after it. Each is kept with its
 * leader's start: a group number is free again once the group is gone, and in a long
 * suite another test's job soon leads a group of that number (pids here go to 32768):
 * a group whose leader started at another time is not ours, and is left alone.
 */
export class Groups {
  private readonly all: Array<{ pid: number; start: number | undefined }> = [];

  push(...pids: number[]): void {
    for (const pid of pids) this.all.push({ pid, start: procStat(pid)?.startTicks });
  }

  includes(pid: number): boolean {
    return this.all.some((g) => g.pid === pid);
  }

  /** Kills the groups still ours, and forgets them all. */
  killAll(): void {
    for (const { pid, start } of this.all.splice(0)) {
      const now = procStat(pid)?.startTicks;
      if (now === undefined || now === start) killGroup(pid);
    }
  }
}

/** Kills a whole process group, ignoring one that is already gone. */
export function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A manifest with the given jobs (name → command, plus optional extra YAML lines). */
export function manifest(
  jobs: Array<{ name: string; run: string; extra?: string[] }>,
  head: string[] = [],
): string {
  const lines = ['version: 1', ...head, 'jobs:'];
  for (const job of jobs) {
    lines.push(`  - name: ${job.name}`, `    run: ${JSON.stringify(job.run)}`);
    for (const extra of job.extra ?? []) lines.push(`    ${extra}`);
  }
  return lines.join('\n') + '\n';
}

export interface ReportJob {
  name: string;
  status: string;
  pool?: string;
  worker?: string;
  exitCode?: number;
  attempts: Array<{
    attempt: number;
    worker?: string;
    error?: string;
    timedOut: boolean;
    exitCode?: number;
  }>;
}

export function parseReport(stdout: string): {
  jobs: ReportJob[];
  summary: Record<string, number>;
} {
  return JSON.parse(stdout) as { jobs: ReportJob[]; summary: Record<string, number> };
}

/**
 * A Redis server for a file's tests, and `Batch`es run on it: after each test its
 * batches are killed and removed, with every worker started meanwhile.
 */
export function redisBatches(): { url: () => string; batch: () => Batch } {
  let redis: RedisServer | undefined;
  const batches: Batch[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const b of batches.splice(0)) {
      b.child?.kill('SIGKILL');
      await b.finish();
      fs.rmSync(b.dir, { recursive: true, force: true });
    }
    await killWorkers();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  return {
    url: () => redis!.url,
    batch: () => {
      const b = new Batch();
      batches.push(b);
      return b;
    },
  };
}
