import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from './helpers.js';

describe('empty input is nothing to do (xargs -r, GNU parallel)', () => {
  it('a glob matching nothing, empty stdin, empty ::: : exit 0 with one line, no run started', async () => {
    const dir = tempDir();
    const cases: [string[], string | undefined, string][] = [
      [['--glob', '*.none', '--', 'wc -l {}'], undefined, "--glob '*.none' matched no files"],
      [['--stdin', '--', 'echo {}'], '', 'no input on stdin'],
      [['--stdin', '-0', '--', 'echo {}'], '', 'no input on stdin'],
      [['--', 'echo', ':::'], undefined, 'the input sources are empty'],
    ];
    for (const [args, input, what] of cases) {
      const r = await jobrun(['run', ...args], { cwd: dir, input });
      expect({ args, code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({
        args,
        code: 0,
        stderr: `jobrun: nothing to do: ${what}\n`,
        stdout: '',
      });
    }
    expect(fs.existsSync(`${dir}/.jobrun`)).toBe(false);
  });

  it('--require-input makes empty input exit 2', async () => {
    const dir = tempDir();
    const glob = await jobrun(['run', '--require-input', '--glob', '*.none', '--', 'wc -l {}'], {
      cwd: dir,
    });
    expect(glob.code).toBe(2);
    expect(glob.stderr).toContain("--glob '*.none' matched no files (--require-input)");
    const stdin = await jobrun(['run', '--require-input', '--stdin', '--', 'echo {}'], {
      cwd: dir,
      input: '',
    });
    expect(stdin.code).toBe(2);
  });

  it('--json still gets an empty report; input that is not empty runs every item', async () => {
    const dir = tempDir();
    const json = await jobrun(['run', '--json', '--stdin', '--', 'echo {}'], {
      cwd: dir,
      input: '',
    });
    expect(json.code).toBe(0);
    expect((JSON.parse(json.stdout) as Report).summary.total).toBe(0);
    const some = await jobrun(['run', '--json', '--stdin', '--', 'echo {}'], {
      cwd: dir,
      input: 'a\nb\nc\n',
    });
    expect((JSON.parse(some.stdout) as Report).jobs.map((j) => j.name)).toEqual(['a', 'b', 'c']);
  });

  it('a manifest whose for_each glob matches nothing stays an error, at its line', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\njobs:\n  - { name: "c-{stem}", for_each: "*.none", run: "wc -l {}" }\n',
    });
    const r = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^m\.yaml:3:\d+: for_each "\*\.none" matched no files/m);
  });
});
