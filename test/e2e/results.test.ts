import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../../src/model/events.js';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';

const manifest = (jobs: string) => `version: 1\njobs:\n${jobs}`;

describe('results as data, end to end', () => {
  it('--capture stdout carries every count of wc -l in the job results', async () => {
    const dir = tempDir();
    const files: Record<string, string> = {};
    for (let i = 1; i <= 12; i++) files[`f${i}.txt`] = 'x\n'.repeat(i);
    writeFiles(dir, files);
    const input = Object.keys(files).join('\n') + '\n';
    const r = await jobrun(
      ['run', '--stdin', '--json', '--capture', 'stdout', '-j', '3', '--', 'wc', '-l', '{}'],
      { cwd: dir, input },
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.jobs).toHaveLength(12);
    for (const job of report.jobs) {
      const n = Number(job.name.slice(1, -4));
      expect(job.result).toBe(`${n} ${job.name}\n`);
      expect(job.resultTruncated).toBeUndefined();
    }
  });

  it('--events carries the result in job_end; --capture-max cuts and marks it', async () => {
    const r = await jobrun(
      ['run', '--stdin', '--events', '--capture', 'lines', '--capture-max', '8', '--', 'seq 1 {}'],
      { input: '3\n100\n' },
    );
    expect(r.code).toBe(0);
    const ends = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent)
      .filter((e): e is RunEvent<'job_end'> => e.type === 'job_end');
    const byName = Object.fromEntries(ends.map((e) => [e.job.name, e.job]));
    expect(byName['3']).toMatchObject({ result: ['1', '2', '3'] });
    expect(byName['3']!.resultTruncated).toBeUndefined();
    expect(byName['100']).toMatchObject({ result: ['1', '2', '3', '4'], resultTruncated: true });
  });

  for (const mode of ['grouped', 'stream'] as const) {
    it(`--output ${mode} keeps job stderr off jobrun's stdout`, async () => {
      const dir = tempDir();
      writeFiles(dir, { 'here.txt': '' });
      const r = await jobrun(['run', '--stdin', '--output', mode, '--', 'ls'], {
        cwd: dir,
        input: 'here.txt\nnOfilE\n',
      });
      expect(r.code).toBe(1);
      const out = r.stdout.split('\n').filter(Boolean);
      expect(out).toHaveLength(1);
      expect(out[0]).toMatch(/here\.txt$/);
      expect(r.stdout).not.toContain('nOfilE');
      expect(r.stderr).toMatch(/nOfilE.*No such file/);
    });
  }

  it('capture: json is parsed, and bad JSON fails the attempt with the reason', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest(
        [
          `  - { name: good, run: "echo '{\\"n\\": 3, \\"ok\\": true}'; echo noise >&2", capture: json }`,
          '  - { name: bad, run: "echo not-json", capture: json }',
        ].join('\n') + '\n',
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    const byName = Object.fromEntries(report.jobs.map((j) => [j.name, j]));
    expect(byName.good).toMatchObject({ status: 'succeeded', result: { n: 3, ok: true } });
    expect(byName.bad).toMatchObject({ status: 'failed', exitCode: 0 });
    expect(byName.bad!.attempts[0]!.error).toMatch(/^capture json: stdout is not JSON/);
    expect(byName.bad!.outputTail).toBe('not-json');
  });

  it('a job that succeeded on retry keeps the tail of the attempt that failed', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest(
        '  - name: flaky\n' +
          '    run: "if [ -f seen ]; then echo fine; else touch seen; echo boom-first >&2; exit 4; fi"\n' +
          '    retries: 1\n' +
          '    backoff: { delay: 10ms, jitter: false }\n',
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const job = (JSON.parse(r.stdout) as Report).jobs[0]!;
    expect(job.status).toBe('succeeded');
    expect(job.attempts).toHaveLength(2);
    expect(job.attempts[0]).toMatchObject({ exitCode: 4, outputTail: 'boom-first' });
    expect(job.attempts[1]!.outputTail).toBeUndefined();
  });

  it('--results DIR writes stdout, stderr and meta.json per job', async () => {
    const dir = tempDir();
    const r = await jobrun(
      [
        'run',
        '--stdin',
        '--results',
        'res',
        '--capture',
        'lines',
        '--',
        'echo out-{}; echo err-{} >&2',
      ],
      { cwd: dir, input: 'a\nb c\n' },
    );
    expect(r.code).toBe(0);
    const res = path.join(dir, 'res');
    expect(fs.readdirSync(res).sort()).toEqual(['1-a', '2-b_c']);
    expect(fs.readFileSync(path.join(res, '1-a/stdout'), 'utf8')).toBe('out-a\n');
    expect(fs.readFileSync(path.join(res, '1-a/stderr'), 'utf8')).toBe('err-a\n');
    expect(fs.readFileSync(path.join(res, '2-b_c/stdout'), 'utf8')).toBe('out-b c\n');
    const meta = JSON.parse(
      fs.readFileSync(path.join(res, '2-b_c/meta.json'), 'utf8'),
    ) as Report['jobs'][0];
    expect(meta).toMatchObject({ name: 'b c', status: 'succeeded', result: ['out-b c'] });
  });
});
