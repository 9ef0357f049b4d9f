import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ExecRequest, Executor } from '../../src/exec/types.js';
import { createHelperExecutor } from '../../src/exec/helper-executor.js';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import { executorConformance } from './conformance.js';
import {
  isGone,
  killQuietly,
  makeJob,
  readOrEmpty,
  requestIn,
  script,
  tempDirs,
  waitFor,
} from './helpers.js';

executorConformance(
  'spawner executor',
  () => createHelperExecutor({ fallback: createLocalExecutor(), strict: true }),
  { rawBytes: true },
);

// where there is no pidfd (Linux before 5.3, Python 3.8), the spawner waits for SIGCHLD
executorConformance(
  'spawner executor without pidfd',
  () =>
    createHelperExecutor({
      fallback: createLocalExecutor(),
      strict: true,
      python: script('python-without-pidfd.sh'),
    }),
  { rawBytes: true },
);

const dirs = tempDirs();
const leftovers: number[] = [];
afterEach(() => killQuietly(leftovers.splice(0)));
afterAll(() => dirs.cleanup());

/** Records which attempts reached the fallback executor. */
function countingFallback(): Executor & { started: number } {
  const local = createLocalExecutor();
  const fallback = {
    started: 0,
    start(request: ExecRequest) {
      fallback.started++;
      return local.start(request);
    },
  };
  return fallback;
}

describe('spawner executor: fallback and spawner deaths', () => {
  it('falls back to child_process by itself when python cannot run', async () => {
    const fallback = countingFallback();
    const executor = createHelperExecutor({ fallback, python: '/no/such/python3' });
    for (const n of [1, 2]) {
      const req = requestIn(dirs.make(), makeJob(`echo run ${n}; exit ${n}`));
      const run = executor.start(req);
      const result = await run.result;
      expect(result.exitCode).toBe(n);
      expect(result.error).toBeUndefined();
      expect(run.pid).toBeGreaterThan(0);
      expect(readFileSync(req.logPath, 'utf8')).toBe(`run ${n}\n`);
    }
    expect(fallback.started).toBe(2);
  });

  it('makes each attempt an error when the spawner is forced and cannot run', async () => {
    const fallback = countingFallback();
    const executor = createHelperExecutor({ fallback, strict: true, python: '/no/such/python3' });
    const result = await executor.start(requestIn(dirs.make(), makeJob('true'))).result;
    expect(result.error).toMatch(/^the job spawner cannot run here: cannot start \/no\/such/);
    expect(fallback.started).toBe(0);
  });

  it('hands output piped through jobrun to child_process', async () => {
    const fallback = countingFallback();
    const executor = createHelperExecutor({ fallback, strict: true });
    const lines: string[] = [];
    const req = requestIn(dirs.make(), makeJob('echo one'), { onLine: (_, l) => lines.push(l) });
    expect((await executor.start(req).result).exitCode).toBe(0);
    expect(lines).toEqual(['one']);
    expect(fallback.started).toBe(1);
  });

  it('ends the attempt with an error when its spawner dies, kills the job, then carries on', async () => {
    const executor = createHelperExecutor({ fallback: countingFallback(), strict: true });
    const dir = dirs.make();
    const req = requestIn(dir, makeJob('sleep 300 & echo $$ $! > pids; echo $PPID > ppid; wait'));
    const run = executor.start(req);
    expect(await waitFor(() => readOrEmpty(join(dir, 'ppid')).endsWith('\n'))).toBe(true);
    const pids = readOrEmpty(join(dir, 'pids')).trim().split(' ').map(Number);
    leftovers.push(...pids);
    const spawner = Number(readOrEmpty(join(dir, 'ppid')));
    expect(readFileSync(`/proc/${spawner}/cmdline`, 'latin1')).toMatch(/python/);
    process.kill(spawner, 'SIGKILL');
    const result = await run.result;
    expect(result.error).toMatch(/^the job spawner exited \(SIGKILL\)/);
    expect(result.exitCode).toBeUndefined();
    expect(pids).toContain(run.pid);
    expect(await waitFor(() => pids.every(isGone))).toBe(true);
    const next = await executor.start(requestIn(dirs.make(), makeJob('exit 4'))).result;
    expect(next.exitCode).toBe(4);
  });
});

describe('spawner executor: what the spawner proves and hands on', () => {
  it('falls back with one notice when posix_spawn cannot start a session', async () => {
    const fallback = countingFallback();
    const notices: string[] = [];
    const executor = createHelperExecutor({
      fallback,
      python: script('python-without-setsid.sh'),
      onFallback: (why) => notices.push(why),
    });
    const results = await Promise.all(
      [0, 1, 2].map((n) => executor.start(requestIn(dirs.make(), makeJob(`exit ${n}`))).result),
    );
    expect(results.map((r) => [r.exitCode, r.error])).toEqual([
      [0, undefined],
      [1, undefined],
      [2, undefined],
    ]);
    expect(fallback.started).toBe(3);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/NotImplementedError: posix_spawn: setsid is unavailable/);
  });

  it('fails each attempt with the reason when that spawner is forced', async () => {
    const executor = createHelperExecutor({
      fallback: countingFallback(),
      strict: true,
      python: script('python-without-setsid.sh'),
    });
    const result = await executor.start(requestIn(dirs.make(), makeJob('true'))).result;
    expect(result.error).toMatch(/^the job spawner cannot run here: .*NotImplementedError/);
  });

  it("hands jobs jobrun's environment, not the interpreter's (no LC_CTYPE coercion, no PYTHON*)", async () => {
    const executor = createHelperExecutor({
      fallback: countingFallback(),
      strict: true,
      python: script('python-c-locale.sh'),
    });
    const req = requestIn(dirs.make(), makeJob('env'));
    expect((await executor.start(req).result).exitCode).toBe(0);
    const env = readFileSync(req.logPath, 'latin1').split('\n');
    expect(env).not.toContain('PYTHONWRAPPED=1');
    expect(env.filter((l) => l.startsWith('LC_CTYPE='))).toEqual(
      process.env.LC_CTYPE === undefined ? [] : [`LC_CTYPE=${process.env.LC_CTYPE}`],
    );
    if (process.env.LANG !== undefined) expect(env).toContain(`LANG=${process.env.LANG}`);
  });

  it('turns a bad order into an attempt error and keeps the same spawner', async () => {
    const executor = createHelperExecutor({ fallback: countingFallback(), strict: true });
    const parent = async (): Promise<string> => {
      const req = requestIn(dirs.make(), makeJob('echo $PPID'));
      expect((await executor.start(req).result).exitCode).toBe(0);
      return readFileSync(req.logPath, 'utf8');
    };
    const before = await parent();
    const bad = requestIn(dirs.make(), makeJob('true'));
    bad.job.env = { '': 'no name' }; // Python's posix_spawn raises ValueError for it
    const result = await executor.start(bad).result;
    expect(result.error).toBe('could not start shell /bin/sh: illegal environment variable name');
    expect(await parent()).toBe(before);
  });
});
