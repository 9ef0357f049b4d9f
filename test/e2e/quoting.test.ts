/**
 * Issue 8 items 1–2, on the built bin: a placeholder's value reaches the program as
 * exactly the item, whatever shell context it sits in, or the template is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';

const HOSTILE = 'x$(touch PWNED).txt';
const HOSTILE2 = 'b c; touch PWNED.txt';

describe('placeholders inside quotes', () => {
  it('--glob with "{}" and \'{}\' passes file names through untouched', async () => {
    const dir = tempDir();
    writeFiles(dir, { [HOSTILE]: '', [HOSTILE2]: '', "it's.txt": '' });
    for (const template of ['printf "<%s>\\n" "{}"', "printf '<%s>\\n' '{}'"]) {
      const r = await jobrun(
        [
          'run',
          '--glob',
          '*.txt',
          '-j1',
          '--output',
          'grouped',
          '--progress',
          'none',
          '--',
          template,
        ],
        { cwd: dir },
      );
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(
        [HOSTILE, HOSTILE2, "it's.txt"].map((f) => `<${f}>`).sort(),
      );
      expect(fs.readdirSync(dir).filter((f) => f.startsWith('PWNED'))).toEqual([]);
    }
  });

  it('--dry-run shows the command exactly as it will run', async () => {
    const dir = tempDir();
    writeFiles(dir, { [HOSTILE]: '' });
    const r = await jobrun(['run', '--glob', 'x*.txt', '--dry-run', '--', 'echo "{}"'], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`echo ""'${HOSTILE}'""`);
    const plan = await jobrun(
      ['run', '--glob', 'x*.txt', '--dry-run', '--json', '--', 'echo "{}"'],
      {
        cwd: dir,
      },
    );
    const line = JSON.parse(plan.stdout.trim()) as { command: string };
    const json = await jobrun(['run', '--glob', 'x*.txt', '--json', '--', 'echo "{}"'], {
      cwd: dir,
    });
    const report = JSON.parse(json.stdout) as Report;
    expect(report.jobs[0]!.command).toBe(line.command);
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
  });

  it('a manifest run: echo "{file}" over hostile names runs nothing else', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      [`in/${HOSTILE}`]: '',
      [`in/${HOSTILE2}`]: '',
      'm.yaml': [
        'version: 1',
        'jobs:',
        '  - name: show-{index}',
        '    for_each: "in/*"',
        `    run: 'printf "%s" "{file}" > "out-{index}"'`,
      ].join('\n'),
    });
    const r = await jobrun(['run', 'm.yaml', '--progress', 'none'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const got = [1, 2].map((i) => fs.readFileSync(path.join(dir, `out-${i}`), 'utf8'));
    expect(got.sort()).toEqual([`in/${HOSTILE}`, `in/${HOSTILE2}`].sort());
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('PWNED'))).toEqual([]);
    expect(fs.readdirSync(path.join(dir, 'in')).filter((f) => f.startsWith('PWNED'))).toEqual([]);
  });

  it('refuses a template it cannot quote safely: exit 2, the placeholder and context named', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      [HOSTILE]: '',
      'm.yaml': [
        'version: 1',
        'jobs:',
        '  - name: t',
        '    for_each: ["a"]',
        '    run: echo `cat {file}`',
      ].join('\n'),
    });
    const adhoc = await jobrun(['run', '--glob', 'x*', '--', 'echo `cat {}`'], { cwd: dir });
    expect(adhoc.code).toBe(2);
    expect(adhoc.stderr).toContain('placeholder {} inside backticks');
    expect(adhoc.stderr).not.toMatch(/\n\s+at /);
    const manifest = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(manifest.code).toBe(2);
    expect(manifest.stderr).toMatch(/m\.yaml:5:\d+: placeholder \{file\} inside backticks/);
    expect(manifest.stderr).not.toMatch(/\n\s+at /);
    const validate = await jobrun(['validate', 'm.yaml'], { cwd: dir });
    expect(validate.code).toBe(2);
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
  });
});

describe('an item in command position', () => {
  it('X=1 is a command name, not a variable assignment', async () => {
    const dir = tempDir();
    for (const command of [['{}'], ['{}', 'arg'], ['sh -c "exit 0"; {}']]) {
      const r = await jobrun(['run', '--stdin', '--json', '--', ...command], {
        cwd: dir,
        input: 'X=1\n',
      });
      const report = JSON.parse(r.stdout) as Report;
      expect(r.code, command.join(' ')).toBe(1);
      if (command.length === 1) {
        // a shell line: sh looks the word up as a command and finds none
        expect(report.jobs[0]).toMatchObject({ status: 'failed', exitCode: 127 });
      } else {
        // several words are exec'd without a shell: the program X=1 does not exist
        expect(report.jobs[0]!.status).toBe('failed');
        expect(report.jobs[0]!.attempts[0]!.error).toMatch(/program X=1 not found/);
      }
    }
  });
});
