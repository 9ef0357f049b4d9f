import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeBytes } from '../../src/model/bytes.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createHelperExecutor } from '../../src/exec/helper-executor.js';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import type { ExecRequest, Executor } from '../../src/exec/types.js';
import type { JobSpec } from '../../src/model/job.js';
import {
  isGone,
  killQuietly,
  makeJob,
  readPids,
  requestIn,
  script,
  tempDirs,
  waitFor,
} from './helpers.js';

const dirs = tempDirs();
const leftovers: number[] = [];
afterEach(() => killQuietly(leftovers.splice(0)));
afterAll(() => dirs.cleanup());

/** A fallback that must not be used: the spawner runs these jobs itself. */
const refusingFallback: Executor = {
  start(request) {
    throw new Error(`the fallback was asked to run ${request.job.command}`);
  },
};

const EXECUTORS: [string, Executor][] = [
  ['node:child_process', createLocalExecutor()],
  ['spawner', createHelperExecutor({ fallback: refusingFallback, strict: true })],
];

function request(job: JobSpec, separate = false): ExecRequest {
  const dir = dirs.make();
  const extra = separate
    ? { separate: { stdoutPath: join(dir, 'job.stdout'), stderrPath: join(dir, 'job.stderr') } }
    : {};
  return requestIn(dir, job, extra);
}

describe.each(EXECUTORS)('%s: streams apart and captured results', (_label, executor) => {
  it('separate: each file holds only its stream; the log holds both, in order', async () => {
    const req = request(makeJob(''), true);
    // out2 only once err1 is in the log (bounded: 10 s), so the order read is known
    req.job.command = `echo out1; echo err1 >&2; i=0; until grep -q err1 '${req.logPath}' || [ $i -ge 1000 ]; do sleep 0.01; i=$((i+1)); done; echo out2`;
    const r = await executor.start(req).result;
    expect(r.exitCode).toBe(0);
    expect(readFileSync(r.stdoutPath!, 'utf8')).toBe('out1\nout2\n');
    expect(readFileSync(r.stderrPath!, 'utf8')).toBe('err1\n');
    expect(readFileSync(r.logPath!, 'utf8').split('\n').sort()).toEqual(
      ['', 'err1', 'out1', 'out2'].sort(),
    );
    expect(readFileSync(r.logPath!, 'utf8').endsWith('out2\n')).toBe(true);
  });

  it('capture keeps stdout only, bounded, and the log still gets everything', async () => {
    const job = makeJob('seq 1 100000; echo noise >&2', {
      capture: { mode: 'lines', maxBytes: 1000 },
    });
    const req = request(job);
    const r = await executor.start(req).result;
    expect(r.exitCode).toBe(0);
    const lines = r.result as string[];
    expect(lines[0]).toBe('1');
    expect(lines.join('\n').length).toBeLessThanOrEqual(1000);
    expect(lines).not.toContain('noise');
    expect(r.resultTruncated).toBe(true);
    expect(readFileSync(req.logPath, 'utf8')).toContain('100000\n');
  });

  it('capture json: bad JSON fails an attempt that exited 0, with the reason and a tail', async () => {
    const r = await executor.start(
      request(makeJob('echo "{broken"', { capture: { mode: 'json', maxBytes: 100 } })),
    ).result;
    expect(r.exitCode).toBe(0);
    expect(r.error).toMatch(/^capture json: stdout is not JSON/);
    expect(r.outputTail).toBe('{broken');
  });

  it('a job that failed anyway keeps its own failure, not the JSON one', async () => {
    const r = await executor.start(
      request(makeJob('echo oops; exit 3', { capture: { mode: 'json', maxBytes: 100 } })),
    ).result;
    expect(r.exitCode).toBe(3);
    expect(r.error).toBeUndefined();
  });

  it('ends an attempt whose pipes a process outside the group holds open', async () => {
    const req = request(makeJob(''), true);
    const pidFile = join(req.job.cwd, 'pid');
    req.job.command = `${script('escaped-child.sh')} ${pidFile}`;
    const result = await executor.start(req).result;
    const pids = readPids(pidFile);
    leftovers.push(...pids);
    expect(result.exitCode).toBe(0);
    // it really escaped the group, and so held the pipes open past the exit
    expect(pids.length === 1 && pids.every((pid) => !isGone(pid))).toBe(true);
    expect(readFileSync(req.logPath, 'utf8')).toBe('done\n');
    expect(readFileSync(result.stdoutPath!, 'utf8')).toBe('done\n');
  });

  it('kills a background child left behind, with the streams apart too', async () => {
    const req = request(makeJob(''), true);
    const pidFile = join(req.job.cwd, 'pid');
    req.job.command = `${script('background-child.sh')} ${pidFile}`;
    const result = await executor.start(req).result;
    const pids = readPids(pidFile);
    leftovers.push(...pids);
    expect(result.exitCode).toBe(0);
    expect(await waitFor(() => pids.every(isGone))).toBe(true);
  });

  it('deletes the log and stream files of a job that printed nothing', async () => {
    const req = request(makeJob('true'), true);
    const result = await executor.start(req).result;
    expect(result.exitCode).toBe(0);
    expect(result.logPath).toBeUndefined();
    expect(result.stdoutPath).toBeUndefined();
    for (const path of [req.logPath, req.separate!.stdoutPath, req.separate!.stderrPath])
      expect(() => readFileSync(path)).toThrow(/ENOENT/);
  });

  it('leaves no descriptor open after jobs that printed nothing, or something', async () => {
    const run = async (command: string) =>
      expect((await executor.start(request(makeJob(command), true)).result).exitCode).toBe(0);
    await run('true'); // a spawner's own pipes open with its first job
    const before = readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 10; i++) await run(i % 2 === 0 ? 'true' : 'echo out; echo err >&2');
    expect(readdirSync('/proc/self/fd').length).toBe(before);
  });

  it('keeps a captured result made of bytes that are not UTF-8, and an empty one', async () => {
    const job = makeJob("printf 'a\\377b'", { capture: { mode: 'stdout', maxBytes: 100 } });
    const r = await executor.start(request(job)).result;
    expect(r.result).toBe(decodeBytes(Buffer.from([0x61, 0xff, 0x62])));
    const none = makeJob('true', { capture: { mode: 'lines', maxBytes: 100 } });
    expect((await executor.start(request(none)).result).result).toEqual([]);
  });

  it('ends a job that closed its output and ran on, with its own exit code', async () => {
    const req = request(makeJob('echo early; exec >&- 2>&-; sleep 0.3; exit 4'), true);
    const result = await executor.start(req).result;
    expect(result.exitCode).toBe(4);
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
    expect(readFileSync(result.stdoutPath!, 'utf8')).toBe('early\n');
  });

  it('reports a log that cannot be opened and remakes a deleted log folder, streams apart', async () => {
    const bad = request(makeJob('echo hi'), true);
    writeFileSync(join(bad.job.cwd, 'not-a-dir'), '');
    bad.logPath = join(bad.job.cwd, 'not-a-dir', 'job.log');
    const failed = await executor.start(bad).result;
    expect(failed.error).toMatch(/^cannot open log file .*not-a-dir\/job\.log: .*ENOTDIR/);
    expect(failed.exitCode).toBeUndefined();
    const gone = request(makeJob('echo hi'), true);
    gone.logPath = join(gone.job.cwd, 'deleted-dir', 'job.log');
    const made = await executor.start(gone).result;
    expect(made.exitCode).toBe(0);
    expect(readFileSync(gone.logPath, 'utf8')).toBe('hi\n');
  });
});

describe('spawner: a job with streams apart queued behind another', () => {
  const executor = EXECUTORS[1]![1];
  it('starts as the first ends, and each keeps its own output and result', async () => {
    const dir = dirs.make();
    const streams = (name: string) => ({
      logPath: join(dir, `${name}.log`),
      separate: { stdoutPath: join(dir, `${name}.out`), stderrPath: join(dir, `${name}.err`) },
    });
    const capture = { capture: { mode: 'lines' as const, maxBytes: 100 } };
    // a runs until b is queued behind it (bounded: 20 s), however slowly the test goes
    const untilGo = 'i=0; until [ -f go ] || [ $i -ge 1000 ]; do sleep 0.02; i=$((i+1)); done';
    const a = executor.start(
      requestIn(dir, makeJob(`echo a1; ${untilGo}; echo a2 >&2`, capture), streams('a')),
    );
    await a.started;
    const b = executor.startAfter?.(
      requestIn(dir, makeJob('echo b1; echo b2 >&2', capture), streams('b')),
      a,
    );
    writeFileSync(join(dir, 'go'), '');
    if (b === undefined) throw new Error('the spawner did not queue the attempt');
    expect(await b.taken).toBe(true);
    const [ra, rb] = await Promise.all([a.result, b.result]);
    expect([ra.result, rb.result]).toEqual([['a1'], ['b1']]);
    expect(readFileSync(ra.stderrPath!, 'utf8')).toBe('a2\n');
    expect(readFileSync(rb.stdoutPath!, 'utf8')).toBe('b1\n');
    expect(readFileSync(rb.logPath!, 'utf8').split('\n').sort()).toEqual(['', 'b1', 'b2']);
  });
});
