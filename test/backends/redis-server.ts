import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import net from 'node:net';
import { noteSkipped } from '../support/skips.js';

/**
 * Starts a throwaway `redis-server` on a free 127.0.0.1 port (no persistence) for one
 * test file. Without `redis-server` the Redis suites are skipped with a loud warning,
 * except in CI, where that is a failure: CI must install it.
 */
const hasRedis = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

export function requireRedisOrWarn(suite: string): boolean {
  if (hasRedis) return true;
  if (process.env.CI) {
    throw new Error(
      `${suite}: redis-server is not installed, and CI is set: install it (apt-get install redis-server)`,
    );
  }
  noteSkipped(suite, 'redis-server');
  console.warn(
    `\n!!! ${suite}: SKIPPED — redis-server is not installed. Install it (apt-get install redis-server) to run the Redis tests.\n`,
  );
  return false;
}

export interface RedisServer {
  port: number;
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `port`: restart on the port of a server stopped before (no persistence: it comes back empty). */
export async function startRedis(extra: string[] = [], fixedPort?: number): Promise<RedisServer> {
  for (let tries = 0; tries < 5; tries++) {
    const port = fixedPort ?? (await freePort());
    const child: ChildProcess = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extra],
      { stdio: 'ignore' },
    );
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 100 && !exited; i++) {
      if (await canConnect(port)) {
        return {
          port,
          url: `redis://127.0.0.1:${port}`,
          stop: () =>
            new Promise<void>((resolve) => {
              if (exited) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGKILL');
            }),
        };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
  }
  throw new Error('could not start redis-server');
}

/**
 * A MONITOR connection to `url`, on once this resolves, and the client it was made from
 * (disconnect both). The client is ready first, and nothing of the caller's should connect
 * until this resolves: a connection's ready check (`info`) that reaches Redis between
 * MONITOR and its reply is echoed to a monitor that still waits for that reply, and
 * ioredis fails it ("Command queue state error … Last reply: … "info"").
 */
export async function monitorRedis(url: string): Promise<{ client: Redis; monitor: Redis }> {
  const client = new Redis(url);
  await client.ping();
  return { client, monitor: await client.monitor() };
}
