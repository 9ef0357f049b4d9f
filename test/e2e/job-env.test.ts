import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';

/** Four jobs print who they are; "flaky" fails its first attempt. */
const WHO = `version: 1
workers: 2
defaults:
  backoff: { delay: 10ms, jitter: false }
jobs:
  - name: who-{}
    for_each: [a, b, c]
    run: echo "$JOBRUN_RUN_ID $JOBRUN_JOB_ID $JOBRUN_JOB_NAME $JOBRUN_ATTEMPT $JOBRUN_SLOT \${JOBRUN_WORKER-none}" > {}.env
  - name: flaky
    retries: 1
    run: echo "$JOBRUN_ATTEMPT" >> flaky.env; [ "$JOBRUN_ATTEMPT" = 2 ]
`;

describe('job environment: JOBRUN_RUN_ID, _JOB_ID, _JOB_NAME, _ATTEMPT, _SLOT', () => {
  for (const spawner of ['helper', 'child'])
    it(`tells each job who it is, with --spawner ${spawner}`, async () => {
      const dir = tempDir();
      writeFiles(dir, { 'm.yaml': WHO });
      const r = await jobrun(['run', 'm.yaml', '--report', 'r.json', '--spawner', spawner], {
        cwd: dir,
      });
      expect(r.code, r.stderr).toBe(0);
      const report = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as Report;
      for (const item of ['a', 'b', 'c']) {
        const job = report.jobs.find((j) => j.name === `who-${item}`)!;
        const [runId, id, name, attempt, slot, worker] = fs
          .readFileSync(path.join(dir, `${item}.env`), 'utf8')
          .trim()
          .split(' ');
        expect({ runId, id, name, attempt, worker }).toEqual({
          runId: report.runId,
          id: job.id,
          name: job.name,
          attempt: '1',
          worker: 'none',
        });
        // slots count from 1 and never exceed the worker count
        expect(['1', '2']).toContain(slot);
        expect(job.attempts[0]!.worker).toBe(slot);
      }
      expect(fs.readFileSync(path.join(dir, 'flaky.env'), 'utf8')).toBe('1\n2\n');
    });
});

describe('job environment: env values as written', () => {
  it('gives the job the text of env numbers and booleans, not what YAML made of them', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': [
        'version: 1',
        'defaults:',
        '  env: { PYTHON_VERSION: 3.10 }',
        'jobs:',
        '  - name: show',
        '    env: { F: 1.10, O: 0755, V: 1e3, N: 5, B: true }',
        '    run: echo "$PYTHON_VERSION $F $O $V $N $B" > env.txt',
        '',
      ].join('\n'),
    });
    const validate = await jobrun(['validate', 'm.yaml'], { cwd: dir });
    expect(validate.code, validate.stderr).toBe(0);
    const r = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'env.txt'), 'utf8')).toBe('3.10 1.10 0755 1e3 5 true\n');
  });
});
