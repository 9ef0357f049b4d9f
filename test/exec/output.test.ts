import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import type { ExecRequest, OutputStream } from '../../src/exec/types.js';
import type { JobSpec } from '../../src/model/job.js';
import {
  isGone,
  killQuietly,
  makeJob,
  readPids,
  script,
  tempDirs,
  waitFor,
  requestIn,
} from './helpers.js';

const dirs = tempDirs();
const leftovers: number[] = [];
afterEach(() => killQuietly(leftovers.splice(0)));
afterAll(() => dirs.cleanup());

const executor = createLocalExecutor();
const MB = 1024 * 1024;

const request = (job: JobSpec, extra: Partial<ExecRequest> = {}): ExecRequest =>
  requestIn(dirs.make(), job, extra);

/** Bytes `seq 1 n` prints. */
function seqBytes(n: number): number {
  let bytes = 0;
  for (let i = 1; i <= n; i++) bytes += String(i).length + 1;
  return bytes;
}

describe('large output', () => {
  it('streams 200 MB to the log file without the runner holding it', async () => {
    const size = 200_000_000;
    const line = 'x'.repeat(99);
    const req = request(makeJob(`yes ${line} | head -c ${size}`));
    const rssBefore = process.memoryUsage().rss;
    const result = await executor.start(req).result;
    const growth = process.memoryUsage().rss - rssBefore;
    expect(result.exitCode).toBe(0);
    expect(statSync(req.logPath).size).toBe(size);
    expect(growth).toBeLessThan(50 * MB);
    rmSync(req.logPath);
  });

  it('passes every whole line to onLine, logs them all, and keeps memory bounded', async () => {
    const n = 200_000;
    const expected: Record<OutputStream, number> = { stdout: 1, stderr: 1 };
    let torn = 0;
    const req = request(makeJob(`${script('lines.sh')} ${n}`), {
      onLine: (stream, line) => {
        if (line !== String(expected[stream])) torn++;
        expected[stream]++;
      },
    });
    const rssBefore = process.memoryUsage().rss;
    const result = await executor.start(req).result;
    const growth = process.memoryUsage().rss - rssBefore;
    expect(result.exitCode).toBe(0);
    expect(torn).toBe(0);
    expect(expected).toEqual({ stdout: n + 1, stderr: n + 1 });
    expect(statSync(req.logPath).size).toBe(2 * seqBytes(n));
    expect(growth).toBeLessThan(50 * MB);
  });

  it('passes a line longer than 64 KiB in pieces and flushes a last partial line', async () => {
    const pieces: string[] = [];
    const req = request(
      makeJob("head -c 200000 /dev/zero | tr '\\0' a; echo; printf 'no newline'"),
      {
        onLine: (_stream, line) => pieces.push(line),
      },
    );
    const result = await executor.start(req).result;
    expect(result.exitCode).toBe(0);
    expect(pieces.at(-1)).toBe('no newline');
    const long = pieces.slice(0, -1);
    expect(long.length).toBeGreaterThan(1);
    expect(long.every((piece) => piece.length <= 64 * 1024)).toBe(true);
    expect(long.join('')).toBe('a'.repeat(200_000));
  });
});

describe('line mode (onLine)', () => {
  it('labels the stream of each line and writes both to the log', async () => {
    const lines: string[] = [];
    const req = request(makeJob(script('interleave.sh')), {
      onLine: (stream, line) => lines.push(`${stream}:${line}`),
    });
    const result = await executor.start(req).result;
    expect(result.exitCode).toBe(0);
    expect(lines.filter((l) => l.startsWith('stdout:'))).toEqual(['stdout:out1', 'stdout:out2']);
    expect(lines.filter((l) => l.startsWith('stderr:'))).toEqual(['stderr:err1', 'stderr:err2']);
    expect(readFileSync(req.logPath, 'utf8').split('\n').sort()).toEqual([
      '',
      'err1',
      'err2',
      'out1',
      'out2',
    ]);
  });

  it('deletes an empty log and keeps the tail of a failure', async () => {
    const quiet = request(makeJob('exit 0'), { onLine: () => {} });
    expect((await executor.start(quiet).result).logPath).toBeUndefined();
    const failing = request(makeJob(`${script('fail-with-output.sh')} 30 2`), { onLine: () => {} });
    const result = await executor.start(failing).result;
    expect(result.exitCode).toBe(2);
    expect(result.outputTail?.split('\n')).toHaveLength(20);
    expect(result.outputTail?.endsWith('line 30')).toBe(true);
  });

  it('survives an onLine callback that throws', async () => {
    const req = request(makeJob('echo a; echo b'), {
      onLine: () => {
        throw new Error('reporter bug');
      },
    });
    const result = await executor.start(req).result;
    expect(result.exitCode).toBe(0);
    expect(readFileSync(req.logPath, 'utf8')).toBe('a\nb\n');
  });

  it('does not hang on a process outside the group that holds the pipes', async () => {
    const req = request(makeJob(''), { onLine: () => {} });
    const pidFile = join(req.job.cwd, 'pid');
    req.job.command = `${script('escaped-child.sh')} ${pidFile}`;
    const startedAt = performance.now();
    const result = await executor.start(req).result;
    const pids = readPids(pidFile);
    leftovers.push(...pids);
    expect(result.exitCode).toBe(0);
    expect(performance.now() - startedAt).toBeLessThan(10_000);
    // It really escaped the group (and so held the pipes open past the exit).
    expect(pids.length === 1 && pids.every((pid) => !isGone(pid))).toBe(true);
    expect(readFileSync(req.logPath, 'utf8')).toBe('done\n');
  });

  it('kills a background child in line mode too', async () => {
    const req = request(makeJob(''), { onLine: () => {} });
    const pidFile = join(req.job.cwd, 'pid');
    req.job.command = `${script('background-child.sh')} ${pidFile}`;
    const result = await executor.start(req).result;
    const pids = readPids(pidFile);
    leftovers.push(...pids);
    expect(result.exitCode).toBe(0);
    expect(await waitFor(() => pids.every(isGone))).toBe(true);
  });
});
