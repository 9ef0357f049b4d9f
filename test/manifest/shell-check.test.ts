import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/index.js';
import { checkSyntax } from '../../src/manifest/shell-check.js';
import { cleanTempDirs, formattedIssues, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

/** A `sh` that logs each start to `calls` and then is /bin/sh: counts the check's processes. */
function countingShell(): { shell: string; calls: () => number } {
  const dir = tempDir();
  const log = path.join(dir, 'calls');
  const shell = path.join(dir, 'sh');
  fs.writeFileSync(shell, `#!/bin/sh\necho x >> '${log}'\nexec /bin/sh "$@"\n`, { mode: 0o755 });
  const calls = () =>
    fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').length - 1 : 0;
  return { shell, calls };
}

describe('shell -n over command templates', () => {
  it('checks many valid templates in one shell process', () => {
    const { shell, calls } = countingShell();
    const templates = Array.from({ length: 200 }, (_, i) => `echo ${i} {} && test -f {.}`);
    expect(checkSyntax(shell, templates).size).toBe(0);
    expect(calls()).toBe(1);
  });

  it('finds each bad template among many, in few processes, with its line', () => {
    const { shell, calls } = countingShell();
    const templates = Array.from({ length: 100 }, (_, i) => `echo ${i}`);
    templates[17] = 'echo a; fi';
    templates[80] = 'echo one\nif true; then echo two';
    const problems = checkSyntax(shell, templates);
    expect([...problems.keys()].sort((a, b) => a - b)).toEqual([17, 80]);
    expect(problems.get(17)?.message).toMatch(/fi/);
    expect(problems.get(80)?.message).toMatch(/still open/);
    expect(problems.get(80)?.line).toBe(2);
    expect(calls()).toBeLessThanOrEqual(1 + 2 * 2 * Math.ceil(Math.log2(100)));
  });

  it('spends no process on templates of plain words, but checks a reserved word', () => {
    const { shell, calls } = countingShell();
    const plain = ['true', 'gzip -9 {}', 'wc -l {.} {/} {#}  {1}', 'cp {} out/{/.}.bak a=b,c:d'];
    expect(checkSyntax(shell, plain).size).toBe(0);
    expect(calls()).toBe(0);
    const problems = checkSyntax(shell, ['done', 'echo then fi', 'echo "open']);
    expect([...problems.keys()].sort()).toEqual([0, 2]);
    expect(calls()).toBeGreaterThan(0);
  });

  it('does not let one template close another (a trailing && or a comment alone)', () => {
    const problems = checkSyntax('/bin/sh', ['echo a &&', 'echo b', '# only a comment']);
    expect([...problems.keys()]).toEqual([0]);
  });

  it('leaves shells it does not know alone', () => {
    expect(checkSyntax('python3', ['this is not python']).size).toBe(0);
  });

  it('is an issue at the job’s run, for each shell, with the line inside run', async () => {
    const text = [
      'version: 1',
      'jobs:',
      '  - { name: ok, run: "[[ -n x ]] && echo {1..3}" }',
      '  - name: bad',
      '    run: |',
      '      echo one',
      '      for f in a b; echo $f',
      '  - { name: posix, shell: /bin/sh, run: "echo a; done" }',
      '',
    ].join('\n');
    const issues = await formattedIssues(
      parseManifest(text, { file: 'm.yaml', manifestPath: null, baseDir: tempDir() }),
    );
    expect(issues).toEqual([
      expect.stringMatching(/^m\.yaml:5:10: bash cannot parse run: .*\(line 2 of run\)$/),
      expect.stringMatching(/^m\.yaml:8:41: \/bin\/sh cannot parse run: .*done/),
    ]);
  });
});
