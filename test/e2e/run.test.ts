import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { alive, BIN, jobrun, readLines, ROOT, tempDir, waitFor, writeFiles } from './helpers.js';

const manifest = (jobs: string, extra = '') => `version: 1\n${extra}jobs:\n${jobs}`;

describe('jobrun run, end to end', () => {
  it('runs the quick-start example green', async () => {
    const r = await jobrun(['run', 'fixtures/examples/quickstart.yaml', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.summary).toMatchObject({ total: 15, succeeded: 15 });
    const upload = report.jobs.find((j) => j.name === 'upload')!;
    expect(upload.attempts).toHaveLength(2);
    const total = report.jobs.find((j) => j.name === 'total')!;
    expect(total.needs).toHaveLength(6);
    expect(fs.readFileSync('fixtures/examples/out/total.txt', 'utf8')).toMatch(/^\d+ words\n$/);
  });

  it('keeps stdout for JSON only and tells the truth in the exit code', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest(
        [
          '  - { name: ok, run: "echo to-stdout; echo to-stderr >&2" }',
          '  - { name: bad, run: "echo first; echo broken >&2; exit 3" }',
          '  - { name: after-bad, run: "true", needs: [bad] }',
          '  - { name: lint, run: "exit 1", allow_failure: true }',
        ].join('\n') + '\n',
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--json', '-j', '2'], { cwd: dir });
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Report; // throws if anything else is on stdout
    const byName = Object.fromEntries(report.jobs.map((j) => [j.name, j]));
    expect(byName.ok!.status).toBe('succeeded');
    expect(byName.bad).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(byName.bad!.outputTail).toContain('broken');
    expect(byName['after-bad']).toMatchObject({ status: 'skipped', reason: 'need "bad" failed' });
    expect(byName.lint).toMatchObject({ status: 'failed', allowFailure: true });
    expect(fs.readFileSync(byName.ok!.log!, 'utf8')).toBe('to-stdout\nto-stderr\n');
    expect(r.stderr).toContain('broken');
    expect(report.summary).toMatchObject({ total: 4, succeeded: 1, failed: 2, skipped: 1 });

    const green = await jobrun(['run', 'm.yaml', '--only', 'ok', '--progress', 'none'], {
      cwd: dir,
    });
    expect(green.code).toBe(0);
  });

  it('exits 2 with file:line:column and no stack trace on a bad manifest', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'bad.yaml':
        'version: 1\njobs:\n  - name: a\n    run: echo\n    timout: 5s\n  - name: a\n    run: echo\n',
    });
    // only a command that runs jobs speaks of running: validate and explain never do
    for (const [cmd, last] of [
      [['run', 'bad.yaml'], 'jobrun: 2 errors in the manifest; nothing ran\n'],
      [['validate', 'bad.yaml'], 'jobrun: 2 errors in the manifest\n'],
      [['explain', 'bad.yaml', 'a'], 'jobrun: 2 errors in the manifest\n'],
    ] as const) {
      const r = await jobrun([...cmd], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/bad\.yaml:5:5: .*timout.*did you mean "timeout"/);
      expect(r.stderr).toMatch(/bad\.yaml:6:\d+: .*duplicate/i);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stderr.endsWith(`\n${last}`), r.stderr).toBe(true);
    }
    const missing = await jobrun(['run', 'nope.yaml'], { cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 2 on usage errors', async () => {
    for (const args of [
      ['run'],
      ['run', '--glob', '*.x'],
      ['run', 'x.yaml', '-j', 'lots'],
      ['run', 'x.yaml', '--halt', 'sometimes'],
      ['run', 'x.yaml', '--json', '--events'],
      ['run', '--bogus-flag'],
    ]) {
      const r = await jobrun(args, { cwd: tempDir() });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('exits 2 without echoing a JOBRUN_REDIS_URL that is not a URL (a bare password)', async () => {
    for (const args of [['run', 'x.yaml', '--backend', 'redis', '--dry-run'], ['worker']]) {
      const r = await jobrun(args, { cwd: tempDir(), env: { JOBRUN_REDIS_URL: 's3cret-Pa55' } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/JOBRUN_REDIS_URL is not a Redis URL/);
      expect(r.stderr).not.toContain('s3cret');
    }
  });

  it('refuses a manifest with bytes that are not UTF-8, at their line, rather than run others', async () => {
    const dir = tempDir();
    // \xff would reach the job as U+FFFD (ef bf bd), and the job write another file
    const text = Buffer.concat([
      Buffer.from('jobs:\n  - name: "\uFFFD ok"\n    run: touch "x'),
      Buffer.from([0xff]),
      Buffer.from('"\n'),
    ]);
    fs.writeFileSync(path.join(dir, 'm.yaml'), text);
    const said = 'm.yaml:3:18: byte 0xFF is not UTF-8: a manifest is UTF-8 text';
    for (const cmd of [
      ['validate', 'm.yaml'],
      ['run', 'm.yaml'],
      ['validate', '-'],
    ]) {
      const r = await jobrun(cmd, { cwd: dir, input: text });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain(cmd[1] === '-' ? said.replace('m.yaml', '<stdin>') : said);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('x'))).toEqual([]);
  });

  it("validate shows a stage's name and command with their controls as ?, never an escape", async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml':
        'jobs:\n  - name: src\n    run: echo a\n    capture: lines\n' +
        '  - name: "s-{}\\e]0;owned\\a"\n    for_each: { from: src }\n' +
        '    run: |\n      echo {}\n      printf "\\033[2J"\n',
    });
    const r = await jobrun(['validate', 'm.yaml'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      'm.yaml: ok, 1 job, 1 stage\n  stage s-{}?]0;owned?: items from src\n' +
        '    echo {}\n    printf "\\033[2J"\n',
    );
    // explain names it the same way
    const e = await jobrun(['explain', 'm.yaml', 's-*'], { cwd: dir });
    expect(e.code, e.stderr).toBe(0);
    expect(e.stdout).toMatch(/^s-\{\}\?\]0;owned\?: /);
    expect(e.stdout).not.toContain('\u001b');
  });

  it('validate prints the expanded job count; schema prints JSON Schema', async () => {
    const v = await jobrun(['validate', 'fixtures/examples/quickstart.yaml']);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('15 jobs');
    const s = await jobrun(['schema']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout).properties.jobs).toBeDefined();
  });

  it('--dry-run prints the start order with one worker and runs nothing', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest(
        [
          '  - { name: low, run: "touch ran-low" }',
          '  - { name: high, run: "touch ran-high", priority: 9 }',
          '  - { name: dep, run: "touch ran-dep", needs: [low], priority: 100 }',
        ].join('\n') + '\n',
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--dry-run'], { cwd: dir });
    expect(r.code).toBe(0);
    const names = [...r.stdout.matchAll(/^\d+\. (\S+)/gm)].map((m) => m[1]);
    expect(names).toEqual(['high', 'low', 'dep']);
    expect(r.stdout).toContain('touch ran-dep');
    expect(fs.readdirSync(dir).filter((f) => f.startsWith('ran-'))).toEqual([]);
  });

  it('runs ad-hoc jobs from --glob with hostile file names quoted', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'in/x;touch PWNED;.txt': 'a',
      'in/$(touch PWNED2).txt': 'b',
      'in/plain.txt': 'c',
    });
    const r = await jobrun(['run', '--glob', 'in/*.txt', '--json', '--', 'cp {} {.}.bak'], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'PWNED2'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'in/x;touch PWNED;.bak'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'in/$(touch PWNED2).bak'))).toBe(true);
    expect((JSON.parse(r.stdout) as Report).summary.succeeded).toBe(3);
  });

  it('keeps each argument whole with several arguments, and appends the item without a placeholder', async () => {
    const dir = tempDir();
    const script = 'printf "<%s>" "$1" > "out-$2"';
    const r = await jobrun(
      ['run', '--stdin', '-j', '1', '--', 'sh', '-c', script, 'sh', '{}', '{index}'],
      {
        cwd: dir,
        input: 'a b\n$(touch PWNED)\n',
      },
    );
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out-1'), 'utf8')).toBe('<a b>');
    expect(fs.readFileSync(path.join(dir, 'out-2'), 'utf8')).toBe('<$(touch PWNED)>');
    const appended = await jobrun(['run', '--stdin', '--', 'sh', '-c', 'printf "%s" "$0" > got'], {
      cwd: dir,
      input: 'one item\n',
    });
    expect(appended.code).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'got'), 'utf8')).toBe('one item');
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
  });

  it('kills a timed-out job and its grandchildren', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest(
        '  - name: hang\n    run: "sleep 300 & echo $! > pids; sh -c \'sleep 300\' & echo $! >> pids; echo $$ >> pids; wait"\n    timeout: 300ms\n    kill_grace: 200ms\n',
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    const job = (JSON.parse(r.stdout) as Report).jobs[0]!;
    expect(job.status).toBe('timed_out');
    expect(job.attempts[0]!.timedOut).toBe(true);
    const pids = readLines(path.join(dir, 'pids')).map(Number);
    expect(pids).toHaveLength(3);
    await waitFor(() => pids.every((p) => !alive(p)), 5000, 'every process of the job to die');
  });

  it('retries a flaky job until it succeeds', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest(
        '  - name: flaky\n    run: "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $n -ge 2 ]"\n    retries: 4\n    backoff: { delay: 50ms, factor: 2, jitter: false }\n',
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const job = (JSON.parse(r.stdout) as Report).jobs[0]!;
    expect(job.status).toBe('succeeded');
    expect(job.attempts.map((a) => a.exitCode)).toEqual([1, 1, 0]);
    expect(r.stderr).toMatch(/↻ flaky exit 1, attempt 2 in \d+ms/);
    expect(r.stderr).toMatch(/↻ flaky exit 1, attempt 3 in \d+ms/);
  });

  it('streams huge output to the log file, not to memory', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': manifest(
        '  - name: loud\n    run: "yes 0123456789012345678901234567890123456789 | head -c 300000000; exit 4"\n',
      ),
    });
    const r = await jobrun(['run', 'm.yaml', '--json'], { cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(1);
    const job = (JSON.parse(r.stdout) as Report).jobs[0]!;
    expect(fs.statSync(job.log!).size).toBe(300_000_000);
    expect(job.outputTail!.length).toBeLessThanOrEqual(4096);
    fs.rmSync(job.log!);
  });

  it('exits 2 before running anything when an output file or log folder cannot be written', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest('  - { name: a, run: "touch ran" }\n'), 'a-file': '' });
    for (const flag of ['--report', '--junit', '--html', '--joblog', '--logs']) {
      const r = await jobrun(['run', 'm.yaml', flag, 'a-file/out'], { cwd: dir });
      expect(r.code, flag).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${flag} (\\S*/)?a-file/out: cannot`));
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('writes the report file with --report', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': manifest('  - { name: a, run: "true" }\n') });
    fs.mkdirSync(path.join(dir, 'out'));
    const r = await jobrun(['run', 'm.yaml', '--report', 'out/report.json', '--progress', 'none'], {
      cwd: dir,
    });
    expect(r.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'out/report.json'), 'utf8')) as Report;
    expect(report.jobs[0]).toMatchObject({ name: 'a', status: 'succeeded', exitCode: 0 });
    expect(r.stderr.trim().split('\n')).toHaveLength(1); // --progress none: the summary line only
  });
});

describe('what a run from a manifest loads', () => {
  const trace = (dir: string) => ({
    NODE_OPTIONS: `--import=${path.join(ROOT, 'test/support/import-trace.mjs')}`,
    JOBRUN_IMPORT_TRACE: path.join(dir, 'imports.txt'),
  });

  it('a valid manifest runs without loading zod or yaml (numbers in env too); a bad one loads them to say where', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'ok.yaml': manifest(
        '  - { name: a, run: "echo {}", for_each: [x, 2], timeout: 10s, env: { N: 5, B: true } }\n',
      ),
      'bad.yaml': manifest('  - { name: a, run: "true", timeout: 5x }\n'),
    });
    const env = trace(dir);
    const ok = await jobrun(['run', 'ok.yaml', '--progress', 'none'], { cwd: dir, env });
    expect(ok.code).toBe(0);
    const loaded = fs.readFileSync(env.JOBRUN_IMPORT_TRACE, 'utf8');
    expect(loaded).toContain('/dist/bundle/jobrun.js'); // the trace works
    expect(loaded).toContain('/node_modules/js-yaml/');
    expect(loaded).not.toMatch(/\/node_modules\/(zod|yaml)\//);
    fs.rmSync(env.JOBRUN_IMPORT_TRACE);

    const bad = await jobrun(['run', 'bad.yaml', '--progress', 'none'], { cwd: dir, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad\.yaml:3:\d+: .*invalid duration "5x"/);
    const careful = fs.readFileSync(env.JOBRUN_IMPORT_TRACE, 'utf8');
    expect(careful).toMatch(/\/node_modules\/zod\//);
    expect(careful).toMatch(/\/node_modules\/yaml\//);
  });

  it("the bin loads jobrun as one bundle, not dist/'s modules one by one", async () => {
    const dir = tempDir();
    writeFiles(dir, { 'ok.yaml': manifest('  - { name: a, run: "true" }\n') });
    const env = trace(dir);
    const ok = await jobrun(['run', 'ok.yaml', '--progress', 'none'], { cwd: dir, env });
    expect(ok.code).toBe(0);
    const dist = pathToFileURL(path.join(ROOT, 'dist')).href;
    const own = fs
      .readFileSync(env.JOBRUN_IMPORT_TRACE, 'utf8')
      .split('\n')
      .filter((url) => url.startsWith(`${dist}/`));
    expect(own).toContain(`${dist}/bundle/jobrun.js`);
    expect(own.filter((url) => !url.startsWith(`${dist}/bundle/`))).toEqual([]);
    expect(new Set(own).size).toBeLessThan(40); // the entry and its chunks, not ~180 modules
  });
});

describe("the bin's V8 interrupt budget", () => {
  /** Preloaded: notes each `v8.setFlagsFromString` (the bin imports it by name). */
  const SPY = `
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';
const real = v8.setFlagsFromString;
v8.setFlagsFromString = (flags) => {
  fs.appendFileSync(process.env.V8_FLAGS_SEEN, flags + '\\n');
  return real(flags);
};
syncBuiltinESMExports();
`;

  /** The V8 flags the bin set, run as `node NODE_FLAGS bin/jobrun.js --version`. */
  function flagsSet(nodeFlags: string[]): string[] {
    const dir = tempDir();
    const spy = path.join(dir, 'spy.mjs');
    const seen = path.join(dir, 'seen.txt');
    fs.writeFileSync(spy, SPY);
    const r = spawnSync(process.execPath, ['--import', spy, ...nodeFlags, BIN, '--version'], {
      env: { ...process.env, V8_FLAGS_SEEN: seen },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    return readLines(seen);
  }

  it('is set unless node was given one, however spelt; other flags of that prefix do not count', () => {
    expect(flagsSet([])).toEqual(['--interrupt-budget=540672']);
    expect(flagsSet(['--interrupt-budget=100000'])).toEqual([]);
    expect(flagsSet(['--interrupt_budget=100000'])).toEqual([]);
    expect(flagsSet(['--interrupt-budget-for-feedback-allocation=900'])).toEqual([
      '--interrupt-budget=540672',
    ]);
  });
});
