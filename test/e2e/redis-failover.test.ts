import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { jobrun, tempDir, waitFor, writeFiles } from './helpers.js';
import {
  Groups,
  killGroup,
  killWorkers,
  manifest,
  parseReport,
  startWorker,
} from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/redis-failover.test.ts');

const lines = (file: string) =>
  fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

describe.runIf(enabled)('distributed runs survive dying processes (built bin)', () => {
  let redis: RedisServer;
  let dir: string;
  const groups = new Groups();
  const coordinators: ChildProcess[] = [];

  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir('jobrun-redis-failover-');
  });
  afterAll(async () => {
    for (const c of coordinators) if (c.exitCode === null) c.kill('SIGKILL');
    groups.killAll();
    await killWorkers();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a worker killed with SIGKILL mid-job: another finishes it, the report counts both attempts', async () => {
    const cwd = path.join(dir, 'kill-worker');
    writeFiles(cwd, {
      'm.yaml': manifest([
        { name: 'victim', run: 'echo $$ >> pids.txt; sleep 1; echo done >> done.txt' },
      ]),
    });
    const a = await startWorker(redis.url, ['--lock-duration', '2s'], cwd);
    const run = jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], {
      cwd,
      timeoutMs: 45_000,
    });
    const pid = Number(
      await waitFor(() => lines(path.join(cwd, 'pids.txt'))[0], 15_000, 'job start'),
    );
    groups.push(pid);
    a.child.kill('SIGKILL');
    killGroup(pid); // the machine died: its processes are gone too
    await a.exited;
    const b = await startWorker(redis.url, ['--lock-duration', '2s'], cwd);
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const victim = parseReport(r.stdout).jobs[0]!;
    expect(victim.status).toBe('succeeded');
    expect(victim.attempts).toHaveLength(2);
    expect(victim.attempts[0]?.error).toMatch(/^lost: /);
    expect(victim.attempts[0]?.worker).toContain(`:${a.pid}/`);
    expect(victim.attempts[1]?.worker).toContain(`:${b.pid}/`);
    expect(lines(path.join(cwd, 'done.txt'))).toEqual(['done']);
    b.child.kill('SIGKILL');
  });

  it('a coordinator killed with SIGKILL re-attaches with --resume; no job runs twice', async () => {
    const cwd = path.join(dir, 'kill-coordinator');
    const ran = path.join(cwd, 'ran.txt');
    writeFiles(cwd, {
      'm.yaml': manifest([
        ...[1, 2, 3, 4].map((i) => ({ name: `a${i}`, run: `echo a${i} >> ran.txt; sleep 0.3` })),
        { name: 'b', run: 'echo b >> ran.txt', extra: ['needs: [a1]'] },
        { name: 'c', run: 'echo c >> ran.txt', extra: ['needs: [b, a4]'] },
      ]),
    });
    const w = await startWorker(redis.url, ['-j', '1'], cwd);
    let coordinator: ChildProcess | undefined;
    const first = jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], {
      cwd,
      onSpawn: (child) => {
        coordinator = child;
        coordinators.push(child);
      },
    });
    await waitFor(() => lines(ran).length >= 1, 15_000, 'first job');
    coordinator!.kill('SIGKILL');
    const killed = await first;
    expect(killed.signal).toBe('SIGKILL');
    const r = await jobrun(['run', 'm.yaml', '--backend', redis.url, '--resume', '--json'], {
      cwd,
    });
    expect(r.code, r.stderr).toBe(0);
    const report = parseReport(r.stdout);
    expect(report.summary).toMatchObject({ total: 6, succeeded: 6 });
    expect(lines(ran).sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b', 'c']);
    w.child.kill('SIGKILL');
  });

  it('--resume after SIGKILL awaits the stage jobs that run, whatever order the stages expanded in', async () => {
    // stage `sb` expands first (its source ends at once) and its jobs run on when the
    // coordinator dies; `--resume` expands `sa` first (file order, from the journal):
    // the jobs are numbered otherwise, yet they are the same BullMQ jobs, not new ones
    const cwd = path.join(dir, 'kill-stages');
    const ran = path.join(cwd, 'ran.txt');
    writeFiles(cwd, {
      'm.yaml': manifest([
        { name: 'a', run: 'sleep 0.3; echo a0' },
        { name: 'b', run: 'echo b0; echo b1' },
        { name: "'sa-{item}'", run: 'echo sa-{item} >> ran.txt', extra: ['for_each: { from: a }'] },
        {
          name: "'sb-{item}'",
          run: 'echo sb-{item} >> ran.txt; sleep 2',
          extra: ['for_each: { from: b }'],
        },
      ]),
    });
    const w = await startWorker(redis.url, ['-j', '4'], cwd);
    let coordinator: ChildProcess | undefined;
    const first = jobrun(['run', 'm.yaml', '--backend', redis.url, '-j', '4'], {
      cwd,
      onSpawn: (child) => {
        coordinator = child;
        coordinators.push(child);
      },
    });
    const journal = path.join(cwd, '.jobrun/journal');
    const journaled = () =>
      fs.existsSync(journal) &&
      fs
        .readdirSync(journal)
        .some((f) => fs.readFileSync(path.join(journal, f), 'utf8').includes('"sa-a0"'));
    await waitFor(
      () => lines(ran).length === 3 && journaled(),
      15_000,
      'sa-a0 journaled, sb running',
    );
    coordinator!.kill('SIGKILL');
    expect((await first).signal).toBe('SIGKILL');
    const r = await jobrun(
      ['run', 'm.yaml', '--backend', redis.url, '-j', '4', '--resume', '--json'],
      {
        cwd,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(parseReport(r.stdout).summary).toMatchObject({ total: 5, succeeded: 5 });
    expect(lines(ran).sort()).toEqual(['sa-a0', 'sb-b0', 'sb-b1']);
    w.child.kill('SIGKILL');
  });

  it('SIGTERM drains a worker: its running job finishes, it takes nothing new, exits 0', async () => {
    const cwd = path.join(dir, 'drain');
    const out = path.join(cwd, 'drain.txt');
    writeFiles(cwd, {
      'm.yaml': manifest([
        { name: 'long', run: 'echo started >> drain.txt; sleep 1.5; echo done >> drain.txt' },
        { name: 'later', run: 'echo later >> drain.txt', extra: ['needs: [long]'] },
      ]),
    });
    const w1 = await startWorker(redis.url, ['-j', '2'], cwd);
    const run = jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], {
      cwd,
      timeoutMs: 45_000,
    });
    await waitFor(() => lines(out).includes('started'), 15_000, 'long to start');
    w1.child.kill('SIGTERM');
    expect(await w1.exited).toBe(0);
    expect(lines(out)).toEqual(['started', 'done']);
    expect(w1.stderr()).toContain('draining');
    const w2 = await startWorker(redis.url, ['-j', '1'], cwd);
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const byName = new Map(parseReport(r.stdout).jobs.map((j) => [j.name, j]));
    expect(byName.get('long')?.worker).toContain(`:${w1.pid}/`);
    expect(byName.get('later')?.worker).toContain(`:${w2.pid}/`);
    expect(lines(out)).toEqual(['started', 'done', 'later']);
    w2.child.kill('SIGKILL');
  });
});
