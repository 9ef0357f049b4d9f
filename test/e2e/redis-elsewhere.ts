import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startRedis, type RedisServer } from '../backends/redis-server.js';
import { jobrun, tempDir, type Result } from './helpers.js';
import { killWorkers } from './redis-helpers.js';

/** A jobrun started "on another machine": its result, what it printed so far, its process. */
export interface Elsewhere {
  result: Promise<Result>;
  seen: () => string;
  child: () => ChildProcess | undefined;
}

/**
 * Starts `jobrun <args>` as if on another machine: its own runtime and temp folders (so
 * the run's local socket and registry are out of its sight) and only the Redis URL, in
 * `JOBRUN_REDIS_URL`.
 */
export function startElsewhere(url: string, args: string[], timeoutMs = 90_000): Elsewhere {
  const home = tempDir('jobrun-elsewhere-');
  for (const sub of ['xdg', 'tmp']) fs.mkdirSync(path.join(home, sub));
  let seen = '';
  let child: ChildProcess | undefined;
  const result = jobrun(args, {
    cwd: home,
    env: {
      XDG_RUNTIME_DIR: path.join(home, 'xdg'),
      TMPDIR: path.join(home, 'tmp'),
      JOBRUN_REDIS_URL: url,
    },
    onSpawn: (c) => {
      child = c;
      c.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
      c.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
    },
    timeoutMs,
  }).finally(() => fs.rmSync(home, { recursive: true, force: true }));
  return { result, seen: () => seen, child: () => child };
}

/** `startElsewhere` to its end. */
export function elsewhere(url: string, args: string[]): Promise<Result> {
  return startElsewhere(url, args, 60_000).result;
}

/**
 * A redis-server with a password for the file's tests (which must never print it),
 * started before them and stopped after, with the workers they started. The runs and
 * workers the file starts find it in `JOBRUN_REDIS_URL`; the getter gives its URL.
 */
export function redisWithPassword(password: string): () => string {
  let redis: RedisServer | undefined;
  let url = '';
  beforeAll(async () => {
    redis = await startRedis(['--requirepass', password]);
    url = `redis://:${password}@127.0.0.1:${redis.port}`;
    process.env.JOBRUN_REDIS_URL = url;
  });
  afterAll(async () => {
    delete process.env.JOBRUN_REDIS_URL;
    await killWorkers();
    await redis?.stop();
  });
  return () => url;
}
