/**
 * Issue 8 items 13, 14 and terminal sanitising, on the built bin: what reaches a
 * terminal is made harmless, piped output stays the jobs' raw bytes, and GitHub
 * workflow commands are escaped by GitHub's rules.
 */
import { describe, expect, it } from 'vitest';
import { jobrun, tempDir, writeFiles } from './helpers.js';
import { runInPty } from './reporters-helpers.js';

/** Output a hostile job prints: a window title, a screen clear, a cursor move, a colour. */
const HOSTILE_OUTPUT = String.raw`printf 'A\033]0;pwned\007B\033[2JC\033[5;5HD\033[31mred\033[39m\n'`;
const RAW = 'A\u001b]0;pwned\u0007B\u001b[2JC\u001b[5;5HD\u001b[31mred\u001b[39m\n';

describe('what reaches a terminal', () => {
  it('--output grouped on a terminal shows escapes in output and names as ?, keeps colours', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'in/n\u001b[2Jame\u001b]0;t\u0007.txt': '' });
    const t = await runInPty(
      // a name with escapes (from a file name), printed in the retry line, the grouped
      // header and the job line; output with escapes, printed by grouped output
      [
        'run',
        '--glob',
        'in/*',
        '--retries',
        '1',
        '--output',
        'grouped',
        '--progress',
        'plain',
        '--',
        `${HOSTILE_OUTPUT}; exit 1`,
      ],
      { cwd: dir },
    );
    expect(t.text).not.toContain('\u001b]0;');
    expect(t.text).not.toContain('\u001b[2J');
    expect(t.text).not.toContain('\u001b[5;5H');
    expect(t.text).toContain('A?]0;pwned?B?[2JC?[5;5HD');
    expect(t.text).toContain('in/n?[2Jame?]0;t?.txt');
    expect(t.text).toContain('\u001b[31mred\u001b[39m');
  });

  it('piped --output grouped and stream print the raw bytes and nothing else', async () => {
    const dir = tempDir();
    const grouped = await jobrun(
      [
        'run',
        '--stdin',
        '-j1',
        '--retries',
        '1',
        '--output',
        'grouped',
        '--progress',
        'none',
        '--',
        `${HOSTILE_OUTPUT}; test -e seen-{} || { touch seen-{}; exit 1; }`,
      ],
      { cwd: dir, input: 'x\n' },
    );
    expect(grouped.code, grouped.stderr).toBe(0);
    expect(grouped.stdout).toBe(RAW + RAW); // two attempts, no "── attempt N ──" headers
    const stream = await jobrun(
      ['run', '--stdin', '--output', 'stream', '--progress', 'none', '--', HOSTILE_OUTPUT],
      { cwd: dir, input: 'y\n' },
    );
    expect(stream.stdout).toBe(`[y] ${RAW}`);
  });
});

describe('GitHub workflow commands', () => {
  it('escape %, CR, LF in data and also : and , in titles, so a name cannot split them', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': [
        'version: 1',
        'jobs:',
        '  - name: "a,b: 100%\\n::warning::injected"',
        '    run: echo out; exit 3',
      ].join('\n'),
    });
    const r = await jobrun(['run', 'm.yaml', '--output', 'grouped', '--progress', 'plain'], {
      cwd: dir,
      env: { GITHUB_ACTIONS: 'true' },
    });
    expect(r.code).toBe(1);
    const lines = (r.stdout + r.stderr).split('\n');
    expect(lines.some((l) => l.startsWith('::warning'))).toBe(false);
    expect(lines).toContain(
      '::error title=jobrun%3A a%2Cb%3A 100%25%0A%3A%3Awarning%3A%3Ainjected failed::' +
        'a,b: 100%25%0A::warning::injected: exit 3%0Aout', // with the failure's last lines
    );
    expect(r.stdout).toContain('::group::a,b: 100%25?::warning::injected (failed, ');
  });
});
