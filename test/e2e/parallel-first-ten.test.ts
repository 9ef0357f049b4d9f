/**
 * The README's "Coming from GNU parallel" table: each jobrun command line, run as
 * printed, prints what the parallel command beside it prints. Needs GNU parallel
 * (CI installs it); without it the suite skips and says so.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noteSkipped } from '../support/skips.js';
import { BIN, ROOT, tempDir, writeFiles } from './helpers.js';

const hasParallel = spawnSync('parallel', ['--version'], { encoding: 'utf8' }).stdout?.includes(
  'GNU parallel',
);
if (!hasParallel) {
  noteSkipped('parallel-first-ten', 'apt-get install parallel');
  console.warn('SKIPPED: GNU parallel is not installed; the README table is not checked');
}

/** The table's rows: [parallel command, jobrun command], as written in the README. */
function tableRows(): [string, string][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const table = /<!-- parallel-first-ten -->\n([\s\S]*?)<!-- \/parallel-first-ten -->/.exec(
    readme,
  )?.[1];
  if (!table) throw new Error('README: the parallel-first-ten table is missing');
  return table
    .split('\n')
    .filter((l) => l.startsWith('| `'))
    .map((l) => {
      const cells = [...l.matchAll(/`((?:[^`\\]|\\.)*)`/g)].map((m) => m[1]!.replace(/\\\|/g, '|'));
      return [cells[0]!, cells[1]!];
    });
}

function shell(command: string, cwd: string, path: string) {
  return spawnSync('bash', ['-c', command], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PATH: path, CI: '', GITHUB_ACTIONS: '', NO_COLOR: '1' },
    timeout: 30_000,
  });
}

describe.skipIf(!hasParallel)("the README's first ten parallel commands", () => {
  const rows = tableRows();
  const dir = tempDir();
  writeFiles(dir, { 'r1.txt': '1\n2\n', 'r2.txt': 'a\nb\nc\n', 'bin/jobrun': '' });
  writeFileSync(join(dir, 'bin/jobrun'), `#!/bin/sh\nexec node '${BIN}' "$@"\n`);
  chmodSync(join(dir, 'bin/jobrun'), 0o755);
  const path = `${join(dir, 'bin')}:${process.env.PATH ?? ''}`;

  it('the table has ten rows', () => expect(rows).toHaveLength(10));

  it.each(rows)('%s', (parallel, jobrun) => {
    const want = shell(parallel, dir, path);
    const got = shell(jobrun, dir, path);
    expect(want.status, want.stderr).toBe(0);
    expect(got.status, got.stderr).toBe(0);
    expect(want.stdout).not.toBe('');
    // without -k, both print jobs in the order they end
    const ordered = / -k /.test(parallel);
    const norm = (s: string) => (ordered ? s : s.split('\n').sort().join('\n'));
    expect(norm(got.stdout)).toBe(norm(want.stdout));
    // and jobrun says nothing else but its one summary line
    expect(got.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^\d+ jobs?: \d+ succeeded in /),
    ]);
  });
});
