/**
 * What a new user meets first, on the built bin: job output where parallel puts it, a
 * short ending, --tag/--bar/--eta, a terminal that says what it is doing (Ctrl-C,
 * reading stdin) and GitHub Actions logs that stay in their groups.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, jobrun, tempDir, writeFiles } from './helpers.js';
import { runInPty as runInTerminal, stripAnsi } from './reporters-helpers.js';
import { Screen } from './terminal-screen.js';

/** A terminal without colour settings (both set make node warn on the screen). */
const runInPty = (args: string[], opts: Parameters<typeof runInTerminal>[1]) =>
  runInTerminal(args, { ...opts, env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });

const SUMMARY = /^\d+ jobs?: .* in [\d.]+m?s/;

function filesDir(): string {
  const dir = tempDir();
  writeFiles(dir, { 'r1.txt': '1\n2\n', 'r2.txt': 'a\nb\nc\n' });
  return dir;
}

describe('job output by default', () => {
  it('an ad-hoc run prints job stdout on stdout, stderr on stderr, and one summary line', async () => {
    const dir = filesDir();
    const r = await jobrun(['run', '--glob', 'r*.txt', '--', 'wc -l {}; echo warn {} >&2'], {
      cwd: dir,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n').sort().join('\n')).toBe('\n2 r1.txt\n3 r2.txt');
    const err = r.stderr.trim().split('\n');
    expect(err.slice(0, 2).sort()).toEqual(['warn r1.txt', 'warn r2.txt']);
    expect(err.slice(2)).toEqual([expect.stringMatching(/^2 jobs: 2 succeeded in /)]);
  });

  it('a failed ad-hoc run ends with the table; --summary line and table choose', async () => {
    const dir = tempDir();
    const failed = await jobrun(['run', '--', 'exit {}', ':::', '0', '3'], { cwd: dir });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/│ status +│ name/);
    const line = await jobrun(['run', '--summary', 'line', '--', 'exit {}', ':::', '0', '3'], {
      cwd: dir,
    });
    expect(line.stderr).not.toMatch(/│ status/);
    const table = await jobrun(['run', '--summary', 'table', '--', 'echo', ':::', 'a'], {
      cwd: dir,
    });
    expect(table.stderr).toMatch(/│ status +│ name/);
  });

  it('a manifest run shows its output in a pipe; output: none keeps it in the logs; --json is alone on stdout', async () => {
    const dir = tempDir();
    const jobs = 'jobs:\n  - name: a\n    run: echo from-a\n  - name: b\n    run: echo from-b\n';
    writeFiles(dir, {
      'm.yaml': `version: 1\n${jobs}`,
      'quiet.yaml': `version: 1\noutput: none\n${jobs}`,
    });
    const shown = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(shown.stdout.split('\n').sort().join('\n')).toBe('\nfrom-a\nfrom-b');
    expect(shown.stderr).toMatch(/│ status/); // a manifest's run ends with its table
    const quiet = await jobrun(['run', 'quiet.yaml'], { cwd: dir });
    expect(quiet.stdout).toBe('');
    const json = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(JSON.parse(json.stdout).jobs).toHaveLength(2);
    const adHocJson = await jobrun(['run', '--json', '--', 'echo', ':::', 'x'], { cwd: dir });
    expect(JSON.parse(adHocJson.stdout).jobs).toHaveLength(1);
  });

  it('--tag prefixes each line with the job name and a tab; -k keeps input order', async () => {
    const r = await jobrun(
      [
        'run',
        '-k',
        '--tag',
        '-j',
        '3',
        '--',
        'sleep 0.{}; printf "x\\ny\\n"',
        ':::',
        '3',
        '2',
        '1',
      ],
      { cwd: tempDir() },
    );
    expect(r.stdout).toBe('3\tx\n3\ty\n2\tx\n2\ty\n1\tx\n1\ty\n');
  });

  it('--eta puts the time left in plain progress lines', async () => {
    const r = await jobrun(
      ['run', '--progress', 'plain', '--eta', '-j', '1', '--', 'true', ':::', 'a', 'b', 'c'],
      { cwd: tempDir() },
    );
    expect(r.stderr).toMatch(/\[1\/3 ETA [\d.]+m?s\] ✔ succeeded/);
  });
});

describe('on a terminal', () => {
  it('an ad-hoc run shows its output and ends with one line: no header, no table', async () => {
    const dir = filesDir();
    const run = await runInPty(['run', '-k', '--', 'wc', '-l', ':::', 'r1.txt', 'r2.txt'], {
      cwd: dir,
    });
    expect(run.code).toBe(0);
    const screen = new Screen(100).write(run.text).text().filter(Boolean);
    expect(screen).toEqual(['2 r1.txt', '3 r2.txt', expect.stringMatching(SUMMARY)]);
  });

  it('--bar draws one line of progress and leaves only the output and the summary', async () => {
    const dir = tempDir();
    const run = await runInPty(
      ['run', '--bar', '-j', '2', '--', 'sleep 0.3; echo {}', ':::', 'a', 'b', 'c'],
      {
        cwd: dir,
        cols: 60,
      },
    );
    expect(run.code).toBe(0);
    const frames = run.text.split('\u001b[?2026h').slice(1);
    expect(frames.some((f) => /\d+%.*running \d+/.test(stripAnsi(f)))).toBe(true);
    // no frame moves the cursor up to erase a second line: the bar is one line
    expect(frames.every((f) => !f.includes('\u001b[1A'))).toBe(true);
    const screen = new Screen(60).write(run.text).text().filter(Boolean);
    expect(screen.slice(0, 3).sort()).toEqual(['a', 'b', 'c']);
    expect(screen.slice(3)).toEqual([expect.stringMatching(SUMMARY)]);
  });

  it('Ctrl-C says what is stopping and how to force it; the run ends with its --resume command', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': [
        'version: 1',
        'jobs:',
        '  - name: quick',
        '    run: "true"',
        '  - name: stubborn',
        '    run: trap "" TERM; test -e .again || { touch .again; echo started; sleep 30; }',
        '    kill_grace: 1500ms',
      ].join('\n'),
    });
    let sent = false;
    const run = await runInPty(['run', 'm.yaml', '--progress', 'tty'], {
      cwd: dir,
      onOutput(text) {
        if (sent || !stripAnsi(text).includes('stubborn  ')) return undefined;
        sent = true;
        return '\u0003';
      },
    });
    expect(run.code).toBe(130);
    const screen = new Screen(100).write(run.text).text().join('\n');
    expect(screen).toContain(
      'jobrun: stopping: SIGTERM to 1 running job, SIGKILL in 1.50s (Ctrl-C again: now)',
    );
    expect(screen.trimEnd().split('\n').at(-1)).toBe(
      'jobrun: to run what did not finish: jobrun run m.yaml --progress tty --resume',
    );
    // the command works as printed (here without the terminal): what did not finish runs
    const resumed = await jobrun(['run', 'm.yaml', '--progress', 'tty', '--resume'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
  });

  it('--stdin on a terminal says it reads the terminal and how to end the input', async () => {
    const dir = tempDir();
    let typed = false;
    const run = await runInPty(['run', '--stdin', '--', 'echo', 'got'], {
      cwd: dir,
      onOutput(text) {
        if (typed || !text.includes('Ctrl-D')) return undefined;
        typed = true;
        return 'x\n\u0004';
      },
    });
    expect(run.code).toBe(0);
    const screen = new Screen(100).write(run.text).text().join('\n');
    expect(screen).toContain('jobrun: reading items from the terminal, one per line; press Ctrl-D');
    expect(screen).toContain('got x');
  });
});

describe('GitHub Actions', () => {
  it("with 2>&1 each ::group:: holds only its job's lines; ::error has the tail; a step summary is written", async () => {
    const dir = tempDir();
    const lines = (n: string) =>
      `for i in 1 2 3 4 5; do echo ${n}-out-$i; echo ${n}-err-$i >&2; sleep 0.05; done`;
    writeFiles(dir, {
      'm.yaml': [
        'version: 1',
        'workers: 3',
        'jobs:',
        `  - { name: a, run: "${lines('a')}" }`,
        `  - { name: b, run: "${lines('b')}; exit 4" }`,
        `  - { name: c, run: "${lines('c')}" }`,
      ].join('\n'),
    });
    const summary = join(dir, 'step-summary.md');
    writeFiles(dir, { 'step-summary.md': '# before\n' });
    // the merged stream, as the runner sees it with 2>&1
    const merged = jobrunMerged(['run', 'm.yaml'], dir, {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    });
    let open: string | undefined;
    for (const line of merged.split('\n')) {
      const g = /^::group::(\w) /.exec(line);
      if (g) open = g[1];
      else if (line === '::endgroup::') open = undefined;
      else if (open !== undefined)
        expect(line, `inside ${open}'s group`).toMatch(new RegExp(`^${open}-`));
    }
    expect(merged).toContain('::group::b (failed');
    expect(merged).toMatch(/::error title=jobrun%3A b failed::b: exit 4%0A.*b-err-5/);
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('# before\n')).toBe(true); // appended, not replaced
    expect(md).toContain('### jobrun: 3 jobs: 2 succeeded, 1 failed');
    expect(md).toContain('| ✖ failed | b | 1 |');
    expect(md).toMatch(
      /<details><summary>b: exit 4, last lines of output<\/summary>\n\n```+text\n[\s\S]*b-out-5/,
    );
  });
});

/** Runs the bin with stdout and stderr on one pipe (`2>&1`) and returns what came out. */
function jobrunMerged(args: string[], cwd: string, env: NodeJS.ProcessEnv): string {
  const r = spawnSync('sh', ['-c', 'exec "$0" "$@" 2>&1', process.execPath, BIN, ...args], {
    cwd,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return r.stdout;
}
