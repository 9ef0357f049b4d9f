import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import type { ExecRequest } from '../../src/exec/types.js';
import type { JobSpec } from '../../src/model/job.js';
import { makeJob, requestIn, tempDirs } from './helpers.js';

const dirs = tempDirs();
afterAll(() => dirs.cleanup());
const executor = createLocalExecutor();

function request(job: JobSpec, separate = false): ExecRequest {
  const dir = dirs.make();
  const extra = separate
    ? { separate: { stdoutPath: join(dir, 'job.stdout'), stderrPath: join(dir, 'job.stderr') } }
    : {};
  return requestIn(dir, job, extra);
}

describe('executor: streams apart and captured results', () => {
  it('separate: each file holds only its stream; the log holds both, in order', async () => {
    const req = request(makeJob('echo out1; echo err1 >&2; sleep 0.05; echo out2'), true);
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
});
