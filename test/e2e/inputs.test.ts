/**
 * The command lines a GNU parallel or xargs user types, run on the built bin, with
 * their exact output (bytes, not text: names that are not UTF-8 must come back as
 * they went in). `-k` keeps the output in input order so it can be compared whole.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir, waitFor, writeFiles } from './helpers.js';

interface BytesResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs `jobrun run -k --progress none ARGS` with `input` on stdin; stdout as bytes. */
function run(args: string[], cwd: string, input: Buffer | string = ''): Promise<BytesResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', '--progress', 'none', ...args], {
      cwd,
      env: { ...process.env, CI: 'true', NO_COLOR: '1' },
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jobrun ${args.join(' ')} timed out: ${stderr}`));
    }, 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input);
  });
}

/** Expects exit 0 and exactly `expected` on stdout. */
async function expectOutput(
  args: string[],
  cwd: string,
  expected: Buffer | string,
  input: Buffer | string = '',
): Promise<void> {
  const r = await run(args, cwd, input);
  expect(r.stderr).not.toMatch(/error|not found/i);
  expect(r.stdout.toString('latin1')).toBe(Buffer.from(expected).toString('latin1'));
  expect(r.code).toBe(0);
}

const CAFE = Buffer.from('caf\xe9.txt', 'latin1'); // é as one Latin-1 byte: not UTF-8

describe('raw bytes (item 1)', () => {
  const dir = tempDir();
  // a Buffer path: Node would write a string name as UTF-8
  fs.writeFileSync(Buffer.concat([Buffer.from(dir + '/'), CAFE]), 'hi\n');
  const expected = Buffer.concat([Buffer.from('3 '), CAFE, Buffer.from('\n')]);

  it('ls | jobrun run --stdin -- wc -c {} runs the exact name (direct exec and shell line)', async () => {
    const input = Buffer.concat([CAFE, Buffer.from('\n')]);
    await expectOutput(['-k', '--stdin', '--', 'wc', '-c', '{}'], dir, expected, input);
    await expectOutput(['-k', '--stdin', '--', 'wc -c {}'], dir, expected, input);
    await expectOutput(['-k', '--stdin', '--', 'wc -c'], dir, expected, input);
  });

  it('--glob finds and runs a name that is not UTF-8', async () => {
    await expectOutput(['-k', '--glob', '*.txt', '--', 'wc', '-c', '{}'], dir, expected);
    await expectOutput(['-k', '--glob', '*.txt', '--', 'wc -c {}'], dir, expected);
  });

  it('a --glob pattern with such a byte is refused (no matcher can take it), saying what works', () => {
    // only a shell can put the byte in jobrun's argv: Node writes arguments as UTF-8
    const r = spawnSync(
      'sh',
      [
        '-c',
        'exec "$@" "$(printf \'caf\\351*\')" -- wc -c {}',
        'sh',
        process.execPath,
        BIN,
        'run',
        '--glob',
      ],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      "--glob $'caf\\xe9*' matched no files: its bytes that are not UTF-8 cannot be matched; put ? or * in their place",
    );
  });

  it('a manifest for_each glob runs it too, and the report keeps the exact name', async () => {
    writeFiles(dir, {
      'm.yaml':
        'version: 1\njobs:\n  - name: count-{base}\n    for_each: "*.txt"\n    run: wc -c {file}\n',
    });
    await expectOutput(['m.yaml', '-k'], dir, expected);
    const r = await run(['m.yaml', '--json'], dir);
    const report = JSON.parse(r.stdout.toString('utf8')) as { jobs: { name: string }[] };
    expect(report.jobs.map((j) => j.name)).toEqual(['count-caf\uDCE9.txt']);
  });

  it('--output stream and --tag pass output and names that are not UTF-8 byte for byte', async () => {
    // Lines read live were decoded as UTF-8 and \xff written back as U+FFFD; --tag wrote
    // a name's \xe9 as U+FFFD too. GNU parallel prints the bytes as they are.
    const input = Buffer.concat([CAFE, Buffer.from('\n')]);
    // a UTF-8 character cut in two by the job's writes must still come out whole
    const job = "printf 'a\\377b\\n\\342'; sleep 0.1; printf '\\202\\254 end\\n'";
    const lines = (prefix: Buffer) =>
      Buffer.concat([prefix, Buffer.from('a\xffb\n', 'latin1'), prefix, Buffer.from('€ end\n')]);
    const bracket = Buffer.concat([Buffer.from('['), CAFE, Buffer.from('] ')]);
    const tab = Buffer.concat([CAFE, Buffer.from('\t')]);
    await expectOutput(['--stdin', '--output', 'stream', '--', job], dir, lines(bracket), input);
    await expectOutput(
      ['--stdin', '--output', 'stream', '--tag', '--', job],
      dir,
      lines(tab),
      input,
    );
    await expectOutput(['-k', '--stdin', '--tag', '--', job], dir, lines(tab), input);
  });

  it("an interrupted run's --resume line keeps such an argument's bytes, so it resumes that run", async () => {
    const cwd = tempDir();
    // a runs; b\xff waits (until `go` exists) and is stopped by the Ctrl-C
    const job = "printf '%s\\n' {} >> ran; [ {} = a ] || [ -e go ] || { touch started; sleep 30; }";
    // only a shell can put the byte in jobrun's argv: Node writes arguments as UTF-8
    const child = spawn(
      'bash',
      ['-c', `exec "$0" "$1" run -j 1 -- "$2" ::: a $'b\\xff'`, process.execPath, BIN, job],
      { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1' } },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const ended = new Promise<string | number | null>((resolve) =>
      child.on('close', (code, signal) => resolve(signal ?? code)),
    );
    await waitFor(() => fs.existsSync(path.join(cwd, 'started')), 20_000, 'b to start');
    child.kill('SIGINT');
    expect(await ended, stderr).toBe('SIGINT'); // it dies of the Ctrl-C, as a shell expects
    const hint = /jobrun: to run what did not finish: jobrun (.*)\n$/s.exec(stderr)?.[1];
    expect(hint, stderr).toBe(
      `run -j 1 --resume -- '${job.replace(/'/g, `'\\''`)}' ::: a $'b\\xff'`,
    );
    // the line as printed, given to a shell: only b runs again, with its byte
    fs.writeFileSync(path.join(cwd, 'go'), '');
    const resumed = spawnSync('bash', ['-c', `exec "$0" "$1" ${hint}`, process.execPath, BIN], {
      cwd,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(fs.readFileSync(path.join(cwd, 'ran'), 'latin1')).toBe('a\nb\xff\nb\xff\n');
  });
});

describe('globs and links to folders', () => {
  it('--glob and for_each do not go into linked folders, which may loop (pnpm workspaces)', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'packages/a/index.js': 'a\n', 'packages/b/index.js': 'b\n' });
    // two packages that depend on each other, linked as pnpm links them
    for (const [from, to] of [
      ['a', 'b'],
      ['b', 'a'],
    ]) {
      fs.mkdirSync(path.join(dir, `packages/${from}/node_modules`));
      fs.symlinkSync(`../../${to}`, path.join(dir, `packages/${from}/node_modules/${to}`));
    }
    // a link to a file is a file all the same
    fs.symlinkSync('a/index.js', path.join(dir, 'packages/link.js'));
    const expected = 'packages/a/index.js\npackages/b/index.js\npackages/link.js\n';
    await expectOutput(['-k', '--glob', 'packages/**/*.js', '--', 'echo', '{}'], dir, expected);
    writeFiles(dir, {
      'm.yaml':
        'version: 1\njobs:\n  - name: "e-{}"\n    for_each: "packages/**/*.js"\n    run: echo {}\n',
    });
    await expectOutput(['m.yaml', '-k'], dir, expected);
  });
});

describe('an environment that is not UTF-8', () => {
  it('reaches the job byte for byte: a value, and a name Node leaves out of process.env', () => {
    // a shell sets them: node:child_process could not hand these bytes to jobrun either
    const script = `WEIRD="$(printf 'a\\377b')" exec env "$(printf 'N\\376M')=v" "$@"`;
    // Python prints what it got (bash would drop a name that is not an identifier)
    const show = String.raw`import os, sys; e = os.environb; sys.stdout.buffer.write(e[b'WEIRD'] + b'|' + e[b'N\xfeM'])`;
    const run = [process.execPath, BIN, 'run', '--progress', 'none', '--'];
    const out = execFileSync(
      'sh',
      ['-c', script, 'sh', ...run, 'python3', '-c', show, ':::', '1'],
      {
        cwd: tempDir(),
        env: { ...process.env, CI: 'true' },
      },
    );
    expect(out).toEqual(Buffer.from('a\xffb|v', 'latin1'));
  });
});

describe('-0 and --delimiter (item 2)', () => {
  const dir = tempDir();

  it('-0 takes NUL-separated items, so names with newlines work', async () => {
    await expectOutput(
      ['-k', '--stdin', '-0', '--', 'printf', '[%s]\\n'],
      dir,
      '[a\nb]\n[c]\n',
      'a\nb\0c\0',
    );
  });

  it('--delimiter splits on any string, with escapes', async () => {
    await expectOutput(['-k', '--stdin', '-d', ';', '--', 'echo'], dir, 'a\nb\nc\n', 'a;b;c');
    await expectOutput(['-k', '--stdin', '-d', '\\t', '--', 'echo'], dir, 'a\nb\n', 'a\tb');
  });

  it('an empty line is a job with an empty argument and a trailing \\r is kept, as in parallel', async () => {
    await expectOutput(
      ['-k', '--stdin', '--', 'printf', '[%s]\\n'],
      dir,
      '[a]\n[]\n[b\r]\n[c]\n',
      'a\n\nb\r\nc',
    );
  });
});

describe('several input sources (item 3)', () => {
  const dir = tempDir();
  writeFiles(dir, { 'left.txt': 'd/one.tar.gz\n', 'right.txt': 'x\ny\n' });

  it('::: a b ::: x y runs every combination, first source outermost', async () => {
    await expectOutput(
      ['-k', '--', 'echo {1} {2}', ':::', 'a', 'b', ':::', 'x', 'y'],
      dir,
      'a x\na y\nb x\nb y\n',
    );
    await expectOutput(['-k', '--', 'echo', ':::', 'a', 'b', ':::', 'x'], dir, 'a x\nb x\n');
  });

  it('equal values are jobs of their own: each runs, and a halt still ends the run', async () => {
    await expectOutput(['-k', '--', 'echo', ':::', 'x', 'x', 'y', 'x'], dir, 'x\nx\ny\nx\n');
    const halted = await run(
      ['-j', '1', '--fail-fast', '--', 'exit {}', ':::', '1', '0', '0'],
      dir,
    );
    expect(halted.code).toBe(1);
    expect(halted.stderr).toMatch(/3 jobs: 1 failed, 2 cancelled/);
  });

  it('--link pairs the sources, the shorter one wrapping around', async () => {
    await expectOutput(
      ['-k', '--link', '--', 'echo', '{2}', '{1}', ':::', 'a', 'b', 'c', ':::', 'x', 'y'],
      dir,
      'x a\ny b\nx c\n',
    );
  });

  it(':::: reads files of arguments; {1.} {1/} {1//} {1/.} are the forms of {1}', async () => {
    await expectOutput(
      ['-k', '--', 'echo {1.} {1/} {1//} {1/.} {2}', '::::', 'left.txt', 'right.txt'],
      dir,
      'd/one.tar one.tar.gz d one.tar x\nd/one.tar one.tar.gz d one.tar y\n',
    );
  });

  it(':::: - reads stdin as one of the sources', async () => {
    await expectOutput(['-k', '--', 'echo', '::::', '-', ':::', '1'], dir, 'a 1\nb 1\n', 'a\nb\n');
  });
});

describe('columns (item 4)', () => {
  const dir = tempDir();

  it('--colsep splits each line into {1}…{n}', async () => {
    await expectOutput(
      ['-k', '--stdin', '--colsep', ',', '--', 'echo {3} {1}'],
      dir,
      'x a\ny b\n',
      'a,1,x\nb,2,y\n',
    );
  });

  it('--header : names the columns after the first line', async () => {
    await expectOutput(
      ['-k', '--stdin', '--header', ':', '--colsep', '\\t', '--', 'echo', '{port}', '{host}'],
      dir,
      '80 h1\n443 h2\n',
      'host\tport\nh1\t80\nh2\t443\n',
    );
  });

  it('--csv reads quoted fields with commas and newlines', async () => {
    await expectOutput(
      ['-k', '--stdin', '--csv', '--', 'printf', '<%s|%s>\\n', '{age}', '{name}'],
      dir,
      '<42|Smith, J>\n<7|two\nlines>\n',
      'name,age\n"Smith, J",42\n"two\nlines",7\n',
    );
  });
});

describe('placeholders jobrun does not know', () => {
  const dir = tempDir();

  it("a misspelt one, or GNU parallel's {%}, is refused before anything runs", async () => {
    // `{itme}` stayed literal text and, with no placeholder left, the item was appended:
    // `echo {itme} a` ran, exit 0; `{%}` the same, where parallel gives the job slot
    for (const [args, message] of [
      [['--', 'touch ran; echo {itme}'], 'unknown placeholder {itme}; did you mean {item}?'],
      [['--', 'touch', 'ran', '{stme}.out'], 'unknown placeholder {stme}; did you mean {stem}?'],
      [['--', 'touch ran; echo {%}'], "unknown placeholder {%} (GNU parallel's job slot;"],
      [['--csv', '--', 'touch ran; echo {##}'], "unknown placeholder {##} (GNU parallel's"],
    ] as const) {
      const r = await run([...args, ':::', 'a'], dir);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`jobrun: the command after --: ${message}`);
      expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
    }
  });

  it("braces far from a placeholder, bash's ${##} and columns named by the input still run", async () => {
    await expectOutput(['--', "echo '{print}' ${##} {}", ':::', 'a'], dir, '{print} 1 a\n');
    // --csv names the columns with the input: {itme} is one of them
    await expectOutput(['--stdin', '--csv', '--', 'echo', '{itme}'], dir, 'x\n', 'itme\nx\n');
  });
});

describe('batching (item 5)', () => {
  const dir = tempDir();

  it('-n 3: at most three items per job, {} all of them, {1} {2} positions', async () => {
    await expectOutput(
      ['-k', '--stdin', '-n', '3', '--', 'echo'],
      dir,
      '1 2 3\n4 5 6\n7\n',
      '1\n2\n3\n4\n5\n6\n7\n',
    );
    await expectOutput(
      ['-k', '--stdin', '-n', '2', '--', 'echo {1}-{2}'],
      dir,
      '1-2\n3-\n',
      '1\n2\n3\n',
    );
  });

  it('-X: as many items as fit, each quoted; the report lists each batch job with its items', async () => {
    const names = ['a b', "it's", '$(x)'];
    await expectOutput(
      ['-k', '--stdin', '-X', '--', "printf '[%s]' {}; echo"],
      dir,
      "[a b][it's][$(x)]\n",
      names.join('\n') + '\n',
    );
    const r = await run(['--stdin', '-X', '--json', '--', 'true'], dir, names.join('\n') + '\n');
    const report = JSON.parse(r.stdout.toString('utf8')) as {
      jobs: { name: string; items: string[] }[];
    };
    expect(report.jobs).toHaveLength(1);
    expect(report.jobs[0]!.items).toEqual(names);
  });

  it('-X splits what does not fit the argument limit into several jobs, none too long', async () => {
    const items = Array.from({ length: 3000 }, (_, i) => `item-${i}-${'x'.repeat(80)}`);
    const r = await run(['--stdin', '-X', '--json', '--', 'echo'], dir, items.join('\n') + '\n');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout.toString('utf8')) as { jobs: { items: string[] }[] };
    expect(report.jobs.length).toBeGreaterThan(1);
    expect(report.jobs.flatMap((j) => j.items)).toEqual(items);
  });
});

describe('-k, -j (items 6, 7)', () => {
  const dir = tempDir();

  it('-k prints output in input order although the second job ends first', async () => {
    // a waits (bounded) until b is done, so b always ends first
    const script =
      'if [ "$1" = a ]; then i=0; while [ ! -e b.done ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; fi; echo "$1"; touch "$1.done"';
    await expectOutput(
      ['-k', '-j', '2', '--', 'sh', '-c', script, 'sh', ':::', 'a', 'b'],
      dir,
      'a\nb\n',
    );
    const unordered = await run(
      [
        '-j',
        '2',
        '--output',
        'grouped',
        '--',
        'sh',
        '-c',
        // a waits (bounded) until jobrun has journaled b's end, which it does after
        // printing b's output: two spawners may report two near exits in either order
        `if [ "$1" = a ]; then i=0; while ! grep -qs '"name":"b".*d2.*"status":"succeeded"' .jobrun/journal/* && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done; fi; echo "$1" # d2`,
        'sh',
        ':::',
        'a',
        'b',
      ],
      dir,
    );
    expect(unordered.stdout.toString()).toBe('b\na\n');
  });

  it('-j takes 50%, +1, -1 and 0', async () => {
    for (const [j, check] of [
      ['50%', (n: number) => n >= 1],
      ['+1', (n: number) => n >= 2],
      ['-1', (n: number) => n >= 1],
      ['0', (n: number) => n === 256],
    ] as const) {
      const r = await run(['-j', j, '--events', '--', 'true', ':::', 'x'], dir);
      const start = JSON.parse(r.stdout.toString().split('\n')[0]!) as { workers: number };
      expect(check(start.workers)).toBe(true);
    }
  });
});

describe('direct exec (item 9)', () => {
  const dir = tempDir();

  it('several words run without a shell: $HOME stays literal, the job is the program itself', async () => {
    await expectOutput(
      ['-k', '--', 'printf', '%s\\n', '$HOME', '{}', ':::', '`x`'],
      dir,
      '$HOME\n`x`\n',
    );
    const r = await run(['--events', '--', 'sh', '-c', 'echo $$ > pid.txt', ':::', 'x'], dir);
    const start = r.stdout
      .toString()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; pid?: number })
      .find((e) => e.type === 'job_start');
    // the job's pid is the program's own: no /bin/sh -c in between
    expect(fs.readFileSync(path.join(dir, 'pid.txt'), 'utf8').trim()).toBe(String(start?.pid));
  });

  it('a single word stays a shell line', async () => {
    await expectOutput(['-k', '--', 'echo {} | tr a-z A-Z', ':::', 'abc'], dir, 'ABC\n');
  });

  it('a missing or unrunnable program fails at once with a clear reason and 127 or 126', async () => {
    fs.writeFileSync(path.join(dir, 'not-executable'), 'echo hi\n', { mode: 0o644 });
    for (const [program, exitCode, error] of [
      ['no-such-program-xyz', 127, 'program no-such-program-xyz not found'],
      ['./not-executable', 126, 'program ./not-executable cannot be executed (permission denied)'],
    ] as const) {
      for (const spawner of ['helper', 'child']) {
        // as with a shell's 127 and 126: another attempt would end the same way
        const r = await run(
          ['--json', '--retries', '2', '--spawner', spawner, '--', program, '{}', ':::', 'a'],
          dir,
        );
        expect(r.code).toBe(1);
        const report = JSON.parse(r.stdout.toString()) as {
          jobs: { attempts: { exitCode?: number; error?: string }[] }[];
        };
        expect(report.jobs[0]!.attempts, `${program} ${spawner}`).toEqual([
          expect.objectContaining({ exitCode, error }),
        ]);
      }
    }
  });
});

describe('manifests: matrix, csv, lines, batch (item 10)', () => {
  const dir = tempDir();
  fs.writeFileSync(
    path.join(dir, 'names.bin'),
    Buffer.concat([Buffer.from('a b\0'), CAFE, Buffer.from('\0')]),
  );
  writeFiles(dir, {
    'users.csv': 'login,comment\nann,"Ann, admin"\nbob,"two\nlines"\n',
    'hosts.txt': 'h1\nh2\n',
    'm.yaml': [
      'version: 1',
      'workers: 1',
      'jobs:',
      '  - name: test-{os}-{node}',
      '    for_each: { matrix: { os: [linux, mac], node: [20, 22] } }',
      '    run: echo {os} {node} {1}',
      '  - name: user-{login}',
      '    for_each: { csv: users.csv }',
      "    run: printf '<%s|%s>\\n' {login} {comment}",
      '  - name: ping',
      '    for_each: { lines: hosts.txt }',
      '    run: echo ping {}',
      '  - name: raw',
      '    for_each: { lines: names.bin, null_separated: true }',
      "    run: printf '[%s]\\n' {}",
      '  - name: gz',
      '    for_each: [a, b, c, d, e]',
      '    batch: 2',
      '    run: echo {}',
      '',
    ].join('\n'),
  });

  it('expands every combination, every row, every line, and batches', async () => {
    const expected = Buffer.concat([
      Buffer.from('linux 20 linux\nlinux 22 linux\nmac 20 mac\nmac 22 mac\n'),
      Buffer.from('<ann|Ann, admin>\n<bob|two\nlines>\n'),
      Buffer.from('ping h1\nping h2\n'),
      Buffer.from('[a b]\n['),
      CAFE,
      Buffer.from(']\n'),
      Buffer.from('a b\nc d\ne\n'),
    ]);
    await expectOutput(['m.yaml', '-k'], dir, expected);
    const r = await run(['m.yaml', '--json'], dir);
    const jobs = (JSON.parse(r.stdout.toString()) as { jobs: { name: string; items?: string[] }[] })
      .jobs;
    expect(jobs.map((j) => j.name).slice(0, 6)).toEqual([
      'test-linux-20',
      'test-linux-22',
      'test-mac-20',
      'test-mac-22',
      'user-ann',
      'user-bob',
    ]);
    expect(jobs.filter((j) => j.name.startsWith('gz')).map((j) => j.items)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      undefined,
    ]);
  });
});

describe('--backoff and --kill-grace on jobrun run (item 11)', () => {
  const dir = tempDir();

  it('--backoff sets the wait before a retry', async () => {
    const r = await run(
      ['--events', '--retries', '2', '--backoff', '200ms,3,1s', '--', 'false', ':::', 'x'],
      dir,
    );
    const delays = r.stdout
      .toString()
      .split('\n')
      .filter((l) => l.includes('"job_retry"'))
      .map((l) => (JSON.parse(l) as { delayMs: number }).delayMs);
    expect(delays).toHaveLength(2);
    // equal jitter: the first wait is in [100, 200], the second in [300, 600]
    expect(delays[0]).toBeGreaterThanOrEqual(100);
    expect(delays[0]).toBeLessThanOrEqual(200);
    expect(delays[1]).toBeGreaterThanOrEqual(300);
    expect(delays[1]).toBeLessThanOrEqual(600);
  });

  it('bad values are usage errors', async () => {
    for (const args of [
      ['--backoff', 'soon'],
      ['--backoff', '1s,0.5'],
      ['--kill-grace', '-1s'],
    ]) {
      const r = await run([...args, '--', 'true', ':::', 'x'], dir);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--(backoff|kill-grace)/);
    }
  });
});
