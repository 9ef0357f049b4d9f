import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { BIN, jobrun, tempDir, writeFiles } from './helpers.js';

/** Runs the built bin through `bash -c` so its streams can be pointed anywhere. */
function shell(
  script: string,
  cwd: string,
): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync('bash', ['-c', script], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', JOBRUN: `${process.execPath} ${BIN}` },
  });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

const report = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Report;

describe('bytes that cannot be an argument', () => {
  it('a streamed item with a NUL byte fails its job with the reason; the others run', async () => {
    const r = await jobrun(['run', '--stdin', '--json', '--', 'echo {}'], {
      cwd: tempDir(),
      input: 'good\nba\0d\nalso good\n',
    });
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.summary).toMatchObject({ succeeded: 2, failed: 1 });
    const bad = rep.jobs.find((j) => j.status === 'failed');
    expect(bad?.attempts[0]?.error).toBe(
      'item "ba\\0d" holds a NUL byte (\\0), which no command, argument or variable can carry',
    );
  });

  it('an item known before the run with a NUL byte is a usage error: nothing runs', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'version: 1\njobs:\n  - { name: first, run: touch ran }\n' +
        '  - name: x\n    for_each: ["a\\0b"]\n    run: echo {item}\n    needs: [first]\n',
    });
    const r = await jobrun(['run', 'm.yaml'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('holds a NUL byte');
    expect(r.stderr).toContain('a\\0b');
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });
});

describe("jobrun's own streams", () => {
  it('a stdin that cannot be read (a directory) is exit 2, not an empty run', () => {
    const r = shell('$JOBRUN run --stdin -- echo {} < /', tempDir());
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('cannot read stdin: it is a directory (EISDIR)');
  });

  it('a :::: file that is missing or a directory is exit 2 with its name, not an internal error', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'somedir'));
    for (const [args, message] of [
      ['-- echo :::: nosuch.txt', 'cannot read :::: nosuch.txt: no such file (ENOENT)'],
      ['--csv -- echo :::: nosuch.csv', 'cannot read :::: nosuch.csv: no such file (ENOENT)'],
      ['-- echo ::: a :::: nosuch.txt', 'cannot read :::: nosuch.txt: no such file (ENOENT)'],
      ['-- echo :::: somedir', 'cannot read :::: somedir: it is a directory (EISDIR)'],
    ]) {
      const r = shell(`$JOBRUN run ${args}`, dir);
      expect(r.status, args).toBe(2);
      expect(r.stderr.trim()).toBe(`jobrun: ${message}`);
    }
  });

  it('a full disk under stderr or stdout is a write error: jobs keep their states, exit 1', () => {
    const dir = tempDir();
    for (const [stream, redirect] of [
      ['stderr', '--progress=plain 2>/dev/full'],
      ['stdout', '--json >/dev/full'],
    ] as const) {
      const [flag, into] = redirect.split(' ');
      const r = shell(
        `$JOBRUN run --report r.json ${flag} -- 'sleep 0.1; echo {}' ::: a b c ${into}`,
        dir,
      );
      expect(r.status).toBe(1);
      const rep = report(path.join(dir, 'r.json'));
      expect(rep.summary).toMatchObject({ succeeded: 3, cancelled: 0 });
      expect(rep.interrupted).toBeUndefined();
      expect(rep.exitCode).toBe(1);
      expect(rep.outputError).toBe(`cannot write jobrun's ${stream}: ENOSPC`);
    }
  });

  it('a file that takes only part of a write (ulimit -f) is a write error, not output cut quietly', () => {
    // Past `ulimit -f`, as on a nearly full disk, write(2) takes what fits and the next
    // one fails (EFBIG, or ENOSPC): Node's file stdout dropped the rest and exited 0.
    // The files start 100 bytes short of the limit; jobs' logs and reports start empty.
    const limitKiB = 200;
    for (const [stream, args, redirect] of [
      ['stdout', `--json -- 'true {}' ::: $(seq 1 40)`, '>>'],
      ['stdout', `-- 'head -c 20000 /dev/zero | tr "\\0" b; : {}' ::: 1`, '>>'],
      ['stdout', `--output stream -- 'seq 1 500; : {}' ::: 1`, '>>'],
      ['stderr', `--progress=plain -- 'true {}' ::: $(seq 1 40)`, '2>>'],
    ] as const) {
      const dir = tempDir();
      const out = path.join(dir, 'out');
      fs.writeFileSync(out, Buffer.alloc(limitKiB * 1024 - 100));
      const r = shell(
        `(ulimit -f ${limitKiB} && exec $JOBRUN run --report r.json ${args}) ${redirect} out`,
        dir,
      );
      expect(fs.statSync(out).size, args).toBe(limitKiB * 1024); // the part that fit
      expect(r.status, args).toBe(1);
      const rep = report(path.join(dir, 'r.json'));
      expect(rep.summary.failed, args).toBe(0);
      expect(rep.outputError, args).toBe(`cannot write jobrun's ${stream}: EFBIG`);
    }
  });

  it("the report's exitCode is the process's, also when the reader leaves (--json | head -c1)", () => {
    const dir = tempDir();
    // failures carry their output tails: a report larger than a pipe's buffer
    const r = shell(
      `$JOBRUN run --report r.json --json -- 'head -c 5000 /dev/zero | tr "\\0" x; exit {}' ` +
        `::: $(seq 1 30) 2>/dev/null | head -c1 >/dev/null; echo "\${PIPESTATUS[0]}"`,
      dir,
    );
    expect(r.stdout.trim()).toBe('141');
    expect(report(path.join(dir, 'r.json')).exitCode).toBe(141);
  });
});

describe('job output without a trailing newline', () => {
  it("jobrun's own lines start on a line of their own; the jobs' bytes stay exact", () => {
    // A job's last line without its newline, on a pipe: jobrun's status lines and
    // summary on the same stream were glued to it (`err2[2/2] ✖ failed`, `err22 jobs: …`).
    const dir = tempDir();
    const r = shell(
      `$JOBRUN run -j 1 -- "printf 'out{}'; printf 'err{}' >&2; exit {}" ::: 0 1`,
      dir,
    );
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('out0out1'); // stdout is data: exactly the jobs' bytes
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('err0err1');
    expect(lines[1]).toMatch(/^\[2\/2\] ✖ failed {4}1 /);
    expect(lines.at(-2)).toMatch(/^2 jobs: 1 succeeded, 1 failed in /);
    const ok = shell(`$JOBRUN run -- "printf 'err' >&2" ::: 0`, dir);
    expect(ok.stderr).toMatch(/^err\n1 job: 1 succeeded in \S+\n$/);
  });
});

describe('stdout and stderr into one file (2>&1)', () => {
  it("a job's stdout and stderr are copied one after the other, never torn into each other", () => {
    // Copied at once through two descriptors of one file, they were interleaved in
    // 64 KiB chunks: lines of stdout cut by stderr's bytes. GNU parallel writes a
    // job's stdout, then its stderr.
    const dir = tempDir();
    const job = `"head -c 300000 /dev/zero | tr '\\\\0' a; echo; head -c 300000 /dev/zero | tr '\\\\0' b >&2; echo >&2; printf c >&2"`;
    for (const target of ['> out 2>&1', '2>&1 | cat > out']) {
      const r = shell(`$JOBRUN run -- ${job} ::: 1 ${target}`, dir);
      expect(r.status, target).toBe(0);
      const out = fs.readFileSync(path.join(dir, 'out'), 'latin1');
      // the file as runs of one character, e.g. `a×300000`
      const runs = (out.match(/(.)\1*/gs) ?? []).map((run) => `${run[0]}×${run.length}`);
      const summary = runs.indexOf('1×1');
      // the job's bytes, then jobrun's summary line, on a line of its own
      expect(runs.slice(0, summary), target).toEqual([
        'a×300000',
        '\n×1',
        'b×300000',
        '\n×1',
        'c×1',
        '\n×1',
      ]);
      expect(out.slice(600003), target).toMatch(/^\n1 job: 1 succeeded in \S+\n$/);
    }
  });
});
