import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';

describe('the shell jobs run in', () => {
  it('is bash when installed: bash-isms work, and the report and --dry-run say so', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'a.txt': '', 'b.txt': '' });
    const cmd = ['--', '[[ -n {} ]] && echo {1..3} $((RANDOM >= 0))'];
    const r = await jobrun(['run', '--glob', '*.txt', '--json', '--capture', 'stdout', ...cmd], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.jobs.map((j) => [j.shell, j.result])).toEqual([
      ['bash', '1 2 3 1\n'],
      ['bash', '1 2 3 1\n'],
    ]);
    const plan = await jobrun(['run', '--glob', '*.txt', '--dry-run', ...cmd], { cwd: dir });
    expect(plan.stdout.trimEnd().split('\n').at(-1)).toBe('shell: bash -c');
  });

  it('is /bin/sh where no bash is on PATH; --shell and shell: override it', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\njobs:\n  - { name: a, run: "echo a" }\n  - { name: z, shell: dash, run: "echo z" }\n',
    });
    const noBash = { PATH: path.join(dir, 'empty') };
    const plan = await jobrun(['run', 'm.yaml', '--dry-run', '--json'], { cwd: dir, env: noBash });
    // dash is not on that PATH either: the manifest error proves the lookup used it
    expect(plan.stderr).toContain('shell dash is not found on PATH');
    fs.writeFileSync(
      path.join(dir, 'm.yaml'),
      'version: 1\njobs:\n  - { name: a, run: "echo a" }\n',
    );
    const sh = await jobrun(['run', 'm.yaml', '--dry-run', '--json'], { cwd: dir, env: noBash });
    expect(JSON.parse(sh.stdout)).toMatchObject({ name: 'a', shell: '/bin/sh' });
    const given = await jobrun(
      ['run', '--stdin', '--dry-run', '--shell', '/bin/dash', '--', 'echo {}'],
      {
        cwd: dir,
        input: 'x\n',
      },
    );
    expect(given.stdout).toContain('shell: /bin/dash -c');
  });

  it('does not retry a command that cannot run (127, 126); other failures are retried', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'noexec.sh': 'echo hi\n',
      'm.yaml': [
        'version: 1',
        'defaults: { retries: 2, backoff: { delay: 10ms } }',
        'jobs:',
        '  - { name: missing, run: no-such-command-here }',
        '  - { name: noexec, run: ./noexec.sh }',
        '  - { name: flaky, run: exit 3 }',
        '',
      ].join('\n'),
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const jobs = (JSON.parse(r.stdout) as Report).jobs;
    expect(jobs.map((j) => [j.name, j.exitCode, j.attempts.length])).toEqual([
      ['missing', 127, 1],
      ['noexec', 126, 1],
      ['flaky', 3, 3],
    ]);
  });

  it('a run the shell cannot parse is refused at validate and before anything runs', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\njobs:\n  - { name: first, run: touch ran }\n  - name: broken\n    run: |\n      touch ran2\n      if [ -f ran ]; then echo yes\n',
    });
    const v = await jobrun(['validate', 'm.yaml'], { cwd: dir });
    expect(v.code).toBe(2);
    expect(v.stderr).toMatch(
      /^m\.yaml:5:10: bash cannot parse run: .*still open.*\(line 2 of run\)$/m,
    );
    const r = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    const adhoc = await jobrun(['run', '--stdin', '--', 'touch ran3; fi'], {
      cwd: dir,
      input: 'a\n',
    });
    expect(adhoc.code).toBe(2);
    expect(adhoc.stderr).toContain('bash cannot parse the command after --');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('ran'))).toEqual([]);
  });
});
