import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createHelperExecutor } from '../../src/exec/helper-executor.js';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import type { Executor, RunningAttempt } from '../../src/exec/types.js';
import type { JobSpec } from '../../src/model/job.js';
import {
  killQuietly,
  makeJob,
  readOrEmpty,
  requestIn,
  script,
  tempDirs,
  waitFor,
} from './helpers.js';

const dirs = tempDirs();
const leftovers: number[] = [];
afterEach(() => killQuietly(leftovers.splice(0)));
afterAll(() => dirs.cleanup());

let executor: Executor;

/** A job that notes its start in `order`, then waits for the file `go` (bounded: 20 s). */
const waiting = (name: string, then = 'exit 0', before = '') =>
  makeJob(
    `${before}echo ${name} >> order; i=0; until [ -f go ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done; ${then}`,
  );

/** Starts `job` (one of `waiting`, named a) and returns its attempt once it runs. */
async function startWaiting(dir: string, job: JobSpec): Promise<RunningAttempt> {
  const a = executor.start(requestIn(dir, job, { worker: '1' }));
  await a.started;
  if (a.pid !== undefined) leftovers.push(a.pid);
  expect(await waitFor(() => readOrEmpty(join(dir, 'order')) === 'a\n')).toBe(true);
  return a;
}

/** The attempt of `second` queued behind `a` (undefined when the executor refused). */
const queueBehind = (dir: string, a: RunningAttempt, second = makeJob('echo b >> order')) =>
  executor.startAfter?.(requestIn(dir, second, { worker: '1', logPath: join(dir, 'b.log') }), a);

/** Starts a job that waits for `go`, once it runs, and the attempt queued behind it. */
async function runningAndQueued(dir: string, first = waiting('a'), second?: JobSpec) {
  const a = await startWaiting(dir, first);
  expect(a.canQueue).toBe(true);
  const b = queueBehind(dir, a, second);
  if (b === undefined) throw new Error('the spawner executor did not queue the attempt');
  expect(a.canQueue).toBe(false); // one deep
  return { a, b };
}

/** The spawner has read everything sent before: another job through it has run. */
async function drained(dir: string): Promise<void> {
  const result = await executor.start(
    requestIn(dir, makeJob('echo c >> order'), { logPath: join(dir, 'c.log') }),
  ).result;
  expect(result.exitCode).toBe(0);
}

const pending = (attempt: RunningAttempt) =>
  Promise.race([
    attempt.taken,
    new Promise((resolve) => setTimeout(() => resolve('pending'), 300)),
  ]);

// the spawner hears of a job's end from a pidfd where it can, else from SIGCHLD: both ways
describe.each([
  ['pidfd', undefined],
  ['SIGCHLD', script('python-without-pidfd.sh')],
])('spawner executor (%s): one job queued behind the running one', (_how, python) => {
  beforeAll(() => {
    executor = createHelperExecutor({ fallback: createLocalExecutor(), strict: true, python });
  });

  it('starts the queued job as the running one ends, not before', async () => {
    const dir = dirs.make();
    const { a, b } = await runningAndQueued(dir);
    expect(await pending(b)).toBe('pending');
    expect(readOrEmpty(join(dir, 'order'))).toBe('a\n');
    writeFileSync(join(dir, 'go'), '');
    const endA = await a.result;
    expect(await b.taken).toBe(true);
    const endB = await b.result;
    expect(endA.exitCode).toBe(0);
    expect(endB.exitCode).toBe(0);
    expect(readOrEmpty(join(dir, 'order'))).toBe('a\nb\n');
    // its clock starts when it leaves the queue, not when it was queued
    expect(endB.startedAt).toBeGreaterThanOrEqual(endA.startedAt + endA.durationMs - 5);
  });

  it('a withdrawn job never starts', async () => {
    const dir = dirs.make();
    const { a, b } = await runningAndQueued(dir);
    b.withdraw?.();
    expect(await b.taken).toBe(false);
    writeFileSync(join(dir, 'go'), '');
    expect((await a.result).exitCode).toBe(0);
    await drained(dir);
    expect(readOrEmpty(join(dir, 'order'))).toBe('a\nc\n');
  });

  it('hands the queued job back when the running one fails', async () => {
    const dir = dirs.make();
    const { a, b } = await runningAndQueued(dir, waiting('a', 'exit 3'));
    writeFileSync(join(dir, 'go'), '');
    expect((await a.result).exitCode).toBe(3);
    expect(await b.taken).toBe(false);
    await drained(dir);
    expect(readOrEmpty(join(dir, 'order'))).toBe('a\nc\n');
  });

  it('stopping the running job withdraws the queued one, even when it exits 0 on TERM', async () => {
    const dir = dirs.make();
    const { a, b } = await runningAndQueued(dir, waiting('a', 'exit 0', 'trap "exit 0" TERM; '));
    a.stop();
    expect((await a.result).exitCode).toBe(0);
    expect(await b.taken).toBe(false);
    await drained(dir);
    expect(readOrEmpty(join(dir, 'order'))).toBe('a\nc\n');
  });

  it('queues nothing behind a job whose captured JSON decides its success', async () => {
    const dir = dirs.make();
    // it exits 0 and still fails (its stdout is not JSON): the spawner, which starts a
    // queued job on an exit 0, would start one after a failure (--fail-fast, --halt)
    const job = waiting('a', 'echo notjson');
    job.capture = { mode: 'json', maxBytes: 1000 };
    const a = await startWaiting(dir, job);
    expect(a.canQueue).toBe(false);
    expect(queueBehind(dir, a)).toBeUndefined();
    writeFileSync(join(dir, 'go'), '');
    const end = await a.result;
    expect(end.exitCode).toBe(0);
    expect(end.error).toContain('capture json');
    await drained(dir);
    expect(readOrEmpty(join(dir, 'order'))).toBe('a\nc\n');
  });

  it('stop() of a queued job withdraws it', async () => {
    const dir = dirs.make();
    const { a, b } = await runningAndQueued(dir);
    b.stop();
    expect(await b.taken).toBe(false);
    writeFileSync(join(dir, 'go'), '');
    expect((await a.result).exitCode).toBe(0);
    await drained(dir);
    expect(readOrEmpty(join(dir, 'order'))).toBe('a\nc\n');
    expect(existsSync(join(dir, 'go'))).toBe(true);
  });
});
