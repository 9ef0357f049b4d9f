/**
 * The flags people bring from GNU parallel and xargs, the hint for a missing `--`, and a
 * `--help` that can be scanned: grouped, everyday options first, 80 columns. Through the
 * built bin, as a user meets them.
 */
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { jobrun, tempDir, writeFiles } from '../e2e/helpers.js';

const width = (line: string) => [...line].length;

describe('--help', () => {
  it('fits 80 columns for every command, whatever the terminal says', async () => {
    for (const command of [
      [],
      ['run'],
      ['validate'],
      ['schema'],
      ['retry'],
      ['clean'],
      ['worker'],
      ...['ps', 'watch', 'logs', 'pause', 'unpause', 'scale', 'cancel', 'drain'].map((c) => [c]),
    ]) {
      const r = await jobrun([...command, '--help'], { env: { COLUMNS: '200' } });
      expect(r.code, command.join(' ')).toBe(0);
      const wide = r.stdout.split('\n').filter((line) => width(line) > 80);
      expect(wide, command.join(' ')).toEqual([]);
    }
  });

  it('groups run’s options: input, running, output, reports, distributed; everyday first', async () => {
    const r = await jobrun(['run', '--help']);
    const headings = r.stdout.split('\n').filter((l) => /^[A-Z][\w ]*:$/.test(l));
    expect(headings).toEqual([
      'Arguments:',
      'Input:',
      'Running:',
      'Output:',
      'Reports:',
      'Distributed:',
      'Options:',
      'Examples:',
    ]);
    const first = (heading: string, n: number) => {
      const lines = r.stdout.split('\n');
      const at = lines.indexOf(heading);
      return lines
        .slice(at + 1)
        .filter((l) => /^ {2}-/.test(l))
        .slice(0, n)
        .map((l) => l.trim().split(/\s{2,}/)[0]);
    };
    expect(first('Input:', 2)).toEqual(['--glob <pattern>', '--stdin']);
    expect(first('Running:', 2)).toEqual(['-j, --workers <n|min:max>', '--dry-run']);
    expect(first('Options:', 1)).toEqual(['-h, --help']);
    expect(r.stdout).not.toContain('Other options:');
  });
});

describe('the steering commands that take [RUN] JOB', () => {
  it('show [RUN] JOB in their usage and name the job when it is missing, exit 2', async () => {
    for (const [command, usage, missing] of [
      ['logs', 'Usage: jobrun logs [options] [RUN] JOB\n', "missing required argument 'job'"],
      [
        'cancel',
        'Usage: jobrun cancel [options] [RUN] JOB...\n',
        "missing required argument 'jobs'",
      ],
    ] as const) {
      const help = await jobrun([command, '--help']);
      expect(help.stdout.startsWith(usage), help.stdout).toBe(true);
      const r = await jobrun([command], { cwd: tempDir() });
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain(missing);
    }
  });
});

describe('flags people already know', () => {
  it('--jobs, -P and --max-procs set the worker count as -j does', async () => {
    const dir = tempDir();
    for (const flags of [
      ['-j', '3'],
      ['--jobs', '3'],
      ['-P', '3'],
      ['--max-procs', '3'],
      ['-P3'],
    ]) {
      const r = await jobrun(['run', ...flags, '--json', '--', 'true', ':::', 'a'], { cwd: dir });
      expect(r.code, flags.join(' ')).toBe(0);
      expect((JSON.parse(r.stdout) as Report).workers, flags.join(' ')).toBe(3);
    }
    const bad = await jobrun(['run', '-P', 'many', '--', 'true', ':::', 'a'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a worker count');
  });

  it("GNU parallel's flags that jobrun spells otherwise say what to write instead", async () => {
    // commander said only "unknown option '-N'"
    const cases: [string[], string][] = [
      [['-N2', '--', 'echo', '{1}', ':::', 'a'], "-N is GNU parallel's; in jobrun, use -n N"],
      [['-N', '2', 'echo', ':::', 'a'], "-N is GNU parallel's; in jobrun, use -n N"],
      [
        ['--line-buffer', '--', 'echo', ':::', 'a'],
        "--line-buffer is GNU parallel's; in jobrun, use --output stream",
      ],
      [
        ['-q', '--', 'echo', ':::', 'a'],
        "-q is GNU parallel's; in jobrun, use several words after --",
      ],
      [
        ['--tagstring', 'x', '--', 'echo', ':::', 'a'],
        "--tagstring is GNU parallel's; in jobrun, use --tag",
      ],
    ];
    for (const [args, hint] of cases) {
      const r = await jobrun(['run', ...args], { cwd: tempDir() });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(`jobrun: ${hint}`);
    }
    const other = await jobrun(['run', '--nope', '--', 'echo', ':::', 'a'], { cwd: tempDir() });
    expect(other.stderr).not.toContain("GNU parallel's");
  });

  it('--redis URL, as one guesses it, says where the URL goes: --backend, or a worker’s argument', async () => {
    // commander said "unknown option '--redis'" and, for run, "Did you mean --retries?"
    const cases: [string[], string][] = [
      [
        ['run', '--redis', 'redis://127.0.0.1:1', '--', 'echo', ':::', 'a'],
        'give the Redis URL with --backend: jobrun run … --backend redis://host:port',
      ],
      [
        ['cancel', '--redis=redis://127.0.0.1:1', 'j'],
        'give the Redis URL with --backend: jobrun cancel … --backend redis://host:port',
      ],
      [
        ['worker', '--redis', 'redis://127.0.0.1:1'],
        'the Redis URL is its argument: jobrun worker redis://host:port',
      ],
    ];
    for (const [args, hint] of cases) {
      const r = await jobrun(args, { cwd: tempDir() });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(
        `jobrun: --redis is no option of ${args[0]}; ${hint}`,
      );
    }
    // a command that reaches no Redis gets no hint to use a flag it does not have
    const validate = await jobrun(['validate', '--redis', 'x'], { cwd: tempDir() });
    expect(validate.stderr).not.toContain('--backend');
  });

  it('a command without -- gets the fixed command line', async () => {
    const dir = tempDir();
    const cases: [string[], string][] = [
      [['--glob', '*.txt', 'wc', '-l', '{}'], "jobrun run --glob '*.txt' -- wc -l {}"],
      [['--stdin', 'echo', '{}'], 'jobrun run --stdin -- echo {}'],
      [['-j4', '--stdin', 'gzip', '-9'], 'jobrun run -j4 --stdin -- gzip -9'],
      [['echo', '{}', ':::', 'a', 'b'], 'jobrun run -- echo {} ::: a b'],
      [['--glob', '*.c', 'cc -c {} > {.}.o'], "jobrun run --glob '*.c' -- 'cc -c {} > {.}.o'"],
    ];
    for (const [args, fixed] of cases) {
      const r = await jobrun(['run', ...args], { cwd: dir, input: '' });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n').at(-1), args.join(' ')).toBe(`did you mean: ${fixed}`);
    }
    // ::: after a manifest: -- would run the manifest as a command; say where ::: goes
    writeFiles(dir, { 'jobs.yaml': 'jobs:\n  - { name: a, run: "true" }\n' });
    for (const [args, separator] of [
      [['jobs.yaml', ':::', 'a', 'b'], ':::'],
      [['-j', '2', 'jobs.yaml', '::::', 'list.txt'], '::::'],
    ] as const) {
      const r = await jobrun(['run', ...args], { cwd: dir });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toContain('did you mean: jobrun');
      expect(r.stderr).toContain(
        `jobs.yaml is a manifest, which brings its own commands: ${separator} input goes with a command after --`,
      );
    }
    // a manifest with a stray word, or a real unknown option: no such hint
    for (const args of [
      ['m.yaml', 'extra'],
      ['--nope', 'x'],
    ]) {
      const r = await jobrun(['run', ...args], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).not.toContain('did you mean: jobrun');
    }
  });
});
