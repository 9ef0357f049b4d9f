import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis } from '../backends/redis-server.js';
import { isGone, killQuietly } from '../exec/helpers.js';
import { jobrun, readLines, ROOT, tempDir, waitFor, writeFiles } from './helpers.js';
import { killWorkers, manifest, startWorker } from './redis-helpers.js';

/** The name of the process that started the job: the spawner (python) or jobrun (node). */
const PARENT = 'cat /proc/$PPID/comm > parent; true';

/** The job: its shell and a background child, both pids appended to "pids". */
const TREE = 'echo $$ >> pids; sleep 300 & echo $! >> pids; wait';

/** Waits until every pid is gone (a zombie counts), then kills what is left anyway. */
async function expectAllGone(pids: number[]): Promise<void> {
  try {
    await waitFor(() => pids.every(isGone), 10_000, 'the jobs to be killed');
  } finally {
    // one that dies between the look and the kill is gone as well (ESRCH): quietly
    killQuietly(pids.filter((pid) => !isGone(pid)));
  }
}

async function parentOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const dir = tempDir();
  // output shown through jobrun is read by jobrun, with node:child_process: none here
  const res = await jobrun(
    ['run', '--progress', 'none', '--output', 'none', ...args, '--', PARENT],
    {
      cwd: dir,
      env,
      input: 'a\n',
    },
  );
  expect(res.stderr).toContain('1 succeeded');
  expect(res.code).toBe(0);
  return readLines(path.join(dir, 'parent'))[0] ?? '';
}

describe.runIf(process.platform === 'linux')('how jobs are started', () => {
  it('--spawner helper, --spawner child and JOBRUN_SPAWNER choose the executor', async () => {
    const one = ['--stdin'];
    const unset = { JOBRUN_SPAWNER: undefined };
    expect(await parentOf([...one, '--spawner', 'helper'], unset)).toMatch(/^python/);
    expect(await parentOf([...one, '--spawner', 'child'], unset)).toBe('node');
    expect(await parentOf(one, { JOBRUN_SPAWNER: 'child' })).toBe('node');
    expect(await parentOf(one, { JOBRUN_SPAWNER: undefined })).toMatch(/^python/);
  });

  it('falls back to child_process when no python can run, unless the spawner is forced', async () => {
    const noPython = { JOBRUN_PYTHON: '/no/such/python3', JOBRUN_SPAWNER: undefined };
    expect(await parentOf(['--stdin'], noPython)).toBe('node');
    const dir = tempDir();
    const res = await jobrun(['run', '--stdin', '--spawner', 'helper', '--json', '--', 'true'], {
      cwd: dir,
      env: noPython,
      input: 'a\n',
    });
    expect(res.code).toBe(1);
    expect(res.stdout).toContain('the job spawner cannot run here');
  });

  it('falls back with one notice when the spawner cannot start a session (no setsid)', async () => {
    const dir = tempDir();
    const wrapper = path.join(ROOT, 'fixtures/scripts/python-without-setsid.sh');
    const res = await jobrun(['run', '--stdin', '-j', '3', '--json', '--', PARENT], {
      cwd: dir,
      env: { JOBRUN_PYTHON: wrapper, JOBRUN_SPAWNER: undefined },
      input: 'a\nb\nc\nd\n',
    });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).summary.succeeded).toBe(4);
    expect(readLines(path.join(dir, 'parent'))[0]).toBe('node');
    const notices = res.stderr.split('\n').filter((l) => l.includes('cannot run here'));
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain('NotImplementedError');
  });

  it('rejects an unknown JOBRUN_SPAWNER as a usage error', async () => {
    const res = await jobrun(['run', '--stdin', '--', 'true'], {
      cwd: tempDir(),
      env: { JOBRUN_SPAWNER: 'fork' },
      input: 'a\n',
    });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("value 'fork' from env 'JOBRUN_SPAWNER' is invalid");
    expect(res.stderr).toContain('Allowed choices are auto, helper, child');
  });
});

/**
 * Runs `tree` (each job leaves a process tree, writing its pids to `pids`) for three
 * stdin lines at -j 2, kills jobrun with -9 once two jobs run, and checks that none of
 * their processes is left.
 */
async function killedWithTwoRunning(
  tree: string,
  args: string[],
  env: Record<string, string | undefined>,
) {
  const dir = tempDir();
  const pids = path.join(dir, 'pids');
  const res = await jobrun(
    ['run', '--stdin', '-j', '2', '--progress', 'none', ...args, '--', tree],
    {
      cwd: dir,
      input: 'a\nb\nc\n',
      env,
      onSpawn: (child) => {
        void waitFor(() => readLines(pids).length >= 4, 20_000, 'two jobs running').then(() =>
          child.kill('SIGKILL'),
        );
      },
    },
  );
  expect(res.signal).toBe('SIGKILL');
  const started = readLines(pids).map(Number);
  expect(started).toHaveLength(4);
  await expectAllGone(started);
}

describe('kill -9 of jobrun', () => {
  it('leaves no job process running: the spawners kill what they started', async () => {
    // `: {}` takes the item, which would otherwise be appended to `wait` and end the job at once
    await killedWithTwoRunning(`: {}; ${TREE}`, ['--output', 'none'], { JOBRUN_SPAWNER: 'helper' });
  });

  it('leaves no job running when the run shows job output (grouped, stdout a pipe)', async () => {
    // prints on both streams, so its output must come back apart: the default for a pipe
    await killedWithTwoRunning(`: {}; echo out; echo err >&2; ${TREE}`, [], {
      JOBRUN_SPAWNER: undefined,
    });
  });
});

describe.runIf(requireRedisOrWarn('test/e2e/spawner.test.ts'))('kill -9 of a jobrun worker', () => {
  afterAll(() => killWorkers());

  it('leaves no job process running', async () => {
    const redis = await startRedis();
    const dir = tempDir();
    let coordinator: ChildProcess | undefined;
    try {
      writeFiles(dir, { 'm.yaml': manifest([{ name: 'tree', run: TREE }]) });
      const worker = await startWorker(redis.url, [], dir);
      const run = jobrun(['run', 'm.yaml', '--backend', redis.url, '--json'], {
        cwd: dir,
        timeoutMs: 60_000,
        onSpawn: (child) => (coordinator = child),
      });
      run.catch(() => {});
      const pids = path.join(dir, 'pids');
      await waitFor(() => readLines(pids).length >= 2, 30_000, 'the job to start');
      worker.child.kill('SIGKILL');
      await worker.exited;
      await expectAllGone(readLines(pids).map(Number));
    } finally {
      coordinator?.kill('SIGKILL');
      await redis.stop();
    }
  });
});
