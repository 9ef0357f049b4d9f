/**
 * Every flag of `run`, `retry`, `worker` (and `clean`) through the real program
 * (`buildProgram`, commander's parsing, `reportError`'s exit codes): its typed value,
 * each conflict, implication and env default, and each bad value's exit 2 and message.
 * The commands' bodies are replaced by spies that keep the options they were given.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunOptions } from '../../src/cli/flags/run-options.js';
import type { WorkerOptions } from '../../src/cli/flags/worker.js';

const given = vi.hoisted(() => ({ options: undefined as unknown }));
vi.mock('../../src/cli/run.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/cli/run.js')>()),
  runCommand: vi.fn(async (_manifest: unknown, _rest: unknown, options: unknown) => {
    given.options = options;
    return 0;
  }),
}));
vi.mock('../../src/cli/retry.js', () => ({
  retryCommand: vi.fn(async (_report: unknown, options: unknown) => {
    given.options = options;
    return 0;
  }),
}));
vi.mock('../../src/cli/serve-worker.js', () => ({
  serveWorker: vi.fn(async (options: unknown) => {
    given.options = options;
    return 0;
  }),
}));

const { buildProgram, reportError } = await import('../../src/cli/main.js');
const { FAIL_FAST } = await import('../../src/core/halt.js');
const { DEFAULT_CAPTURE_BYTES } = await import('../../src/model/result.js');
const { MAX_WORKERS } = await import('../../src/cli/flags/values.js');

const ENV = ['JOBRUN_SPAWNER', 'JOBRUN_KEEP_LOGS'] as const;
const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));
afterEach(() => {
  for (const name of ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

interface Parsed {
  code: number;
  stderr: string;
  options: unknown;
}

/** Parses `args` as the CLI would (`rest`: the words after `--`), in `env`. */
async function cli(
  args: string[],
  env: Partial<Record<(typeof ENV)[number], string>> = {},
  rest: string[] = [],
): Promise<Parsed> {
  for (const name of ENV) delete process.env[name];
  Object.assign(process.env, env);
  given.options = undefined;
  let stderr = '';
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
  const program = buildProgram(rest, () => {});
  for (const cmd of [program, ...program.commands])
    cmd.configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => {} });
  let code = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    code = reportError(err, args[0]);
  } finally {
    write.mockRestore();
  }
  return { code, stderr, options: given.options };
}

async function run(args: string[], env = {}): Promise<RunOptions> {
  const r = await cli(['run', 'jobs.yaml', ...args], env);
  expect(r.code, r.stderr).toBe(0);
  return r.options as RunOptions;
}

/** Expects exit 2 with a message that names `flag` and says `reason`. */
async function refused(args: string[], flag: string, reason: RegExp, env = {}): Promise<void> {
  const r = await cli(args, env);
  expect(r.code, args.join(' ')).toBe(2);
  expect(r.stderr, args.join(' ')).toContain(flag);
  expect(r.stderr, args.join(' ')).toMatch(reason);
  expect(r.options, args.join(' ')).toBeUndefined();
}

describe('run: each flag becomes its typed value', () => {
  it('has defaults that need no flag', async () => {
    const o = await run([]);
    expect(o).toMatchObject({
      workers: undefined,
      halt: undefined,
      resume: false,
      dryRun: false,
      maxQueue: 10_000,
      keepLogs: 10,
      spawner: 'auto',
      backend: { kind: 'local' },
      // job output: undefined leaves it to the run (ad-hoc or piped: grouped)
      output: {
        output: undefined,
        progress: 'auto',
        json: false,
        events: false,
        keepOrder: false,
        tag: false,
        bar: false,
        eta: false,
        summary: 'auto',
      },
      source: { stdin: false, batching: undefined },
    });
    expect(Object.values(o.overrides).every((v) => v === undefined)).toBe(true);
  });

  it('-j: counts, shares of the CPUs, 0 and min:max', async () => {
    expect((await run(['-j', '2:8'])).workers).toEqual({ min: 2, max: 8 });
    expect((await run(['-j', '0'])).workers).toEqual({ min: MAX_WORKERS, max: MAX_WORKERS });
    const cpus = os.availableParallelism();
    expect((await run(['--workers', '+1'])).workers).toEqual({ min: cpus + 1, max: cpus + 1 });
    const less = Math.max(1, cpus - 1);
    expect((await run(['-j', '-1'])).workers).toEqual({ min: less, max: less });
    expect((await run(['-j', '50%'])).workers?.min).toBe(Math.max(1, Math.floor(cpus / 2)));
  });

  it('job overrides: --timeout, --retries, --kill-grace, --backoff, --capture', async () => {
    const o = await run([
      '--timeout',
      '1m30s',
      '--retries',
      '2',
      '--kill-grace',
      '2s',
      '--backoff',
      '1s,3,1m',
      '--capture',
      'lines',
      '--capture-max',
      '64k',
    ]);
    expect(o.overrides).toEqual({
      timeout: { ms: 90_000 },
      retries: 2,
      killGraceMs: 2000,
      backoff: { delayMs: 1000, factor: 3, maxMs: 60_000, jitter: true },
      capture: { mode: 'lines', maxBytes: 65_536 },
    });
    expect((await run(['--timeout', '300%'])).overrides.timeout).toEqual({ percent: 300 });
    expect((await run(['--capture', 'json'])).overrides.capture).toEqual({
      mode: 'json',
      maxBytes: DEFAULT_CAPTURE_BYTES,
    });
  });

  it('--halt and --fail-fast become one halt policy', async () => {
    expect((await run(['--fail-fast'])).halt).toEqual(FAIL_FAST);
    expect((await run(['--halt', 'now,success=25%'])).halt).toMatchObject({
      when: 'now',
      on: 'success',
      percent: 25,
    });
  });

  it('scheduling: --only, --order, --max-queue, the gates, --resume, --dry-run', async () => {
    const o = await run([
      ...['--only', 'a,b', '--only', 'c*', '--order', 'lifo', '--max-queue', '5'],
      ...['--max-load', '2.5', '--min-free-mem', '512M', '--delay', '250ms'],
      ...['--resume', '--dry-run'],
    ]);
    expect(o).toMatchObject({
      only: ['a', 'b', 'c*'],
      order: 'lifo',
      maxQueue: 5,
      gate: { delayMs: 250, maxLoad: 2.5, minFreeMemBytes: 512 * 1024 ** 2 },
      resume: true,
      dryRun: true,
    });
  });

  it('output: reporters, files and folders', async () => {
    const o = await run([
      ...['--json', '--report', 'r.json', '--junit', 'j.xml', '--html', 'r.html'],
      ...['--joblog', 'log.tsv', '--results', 'out', '--logs', 'logs'],
      ...['--output', 'stream', '--progress', 'plain', '--keep-logs', 'all'],
      ...['--tag', '--eta', '--summary', 'table'],
    ]);
    expect(o.output).toEqual({
      json: true,
      events: false,
      report: 'r.json',
      junit: 'j.xml',
      html: 'r.html',
      output: 'stream',
      progress: 'plain',
      keepOrder: false,
      results: 'out',
      tag: true,
      bar: false,
      eta: true,
      summary: 'table',
    });
    expect((await run(['--bar'])).output.bar).toBe(true);
    expect(o).toMatchObject({ joblog: 'log.tsv', logs: 'logs', keepLogs: 'all' });
    expect((await run(['--events', '--keep-logs', '3'])).output.events).toBe(true);
  });

  it('input of ad-hoc runs: -0, -d, --colsep, --header, --csv, --link, -n, -X, --shell', async () => {
    const ad = async (args: string[]) => {
      const r = await cli(['run', ...args], {}, ['echo', '{}']);
      expect(r.code, r.stderr).toBe(0);
      return (r.options as RunOptions).source;
    };
    expect((await ad(['--stdin', '-0'])).input.delimiter).toEqual(Buffer.of(0));
    expect((await ad(['--stdin', '-d', '\\t;\\x41'])).input.delimiter).toEqual(
      Buffer.from([9, 59, 0x41]),
    );
    const s = await ad(['--glob', '*.txt', '--colsep', ',\\s*', '--header', ':', '--link']);
    expect(s).toMatchObject({ glob: '*.txt', stdin: false, input: { header: true, link: true } });
    expect(s.input.colsep).toEqual(/,\s*/);
    expect((await ad(['--stdin', '--shell', '/bin/sh'])).shell).toBe('/bin/sh');
    expect((await ad(['--stdin', '-n', '3'])).batching).toEqual({
      maxItems: 3,
      maxBytes: undefined,
    });
    expect((await ad(['--stdin', '-X'])).batching?.maxBytes).toBeGreaterThanOrEqual(4096);
  });

  it('implications: --csv implies --header; -k orders grouped output', async () => {
    const r = await cli(['run', '--stdin', '--csv'], {}, ['echo', '{name}']);
    expect((r.options as RunOptions).source.input).toMatchObject({ csv: true, header: true });
    // -k leaves --output unset; the output mode is grouped whatever the run (jobOutputMode)
    expect((await run(['-k'])).output).toMatchObject({ keepOrder: true, output: undefined });
    expect((await run(['-k', '--output', 'grouped'])).output.output).toBe('grouped');
  });

  it('backends: local, a Redis URL, or the URL from --redis-url-file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-flags-'));
    const file = path.join(dir, 'url');
    fs.writeFileSync(file, 'redis://:pw@127.0.0.1:6390/3\n');
    expect((await run(['--backend', 'local'])).backend).toEqual({ kind: 'local' });
    const url = await run(['--backend', 'redis://127.0.0.1:6390/2', '--redis-timeout', '3s']);
    expect(url.backend).toMatchObject({ kind: 'redis', target: { options: { db: 2 } } });
    expect(url.redisTimeoutMs).toBe(3000);
    for (const args of [
      ['--redis-url-file', file],
      ['--backend', 'redis', '--redis-url-file', file],
    ])
      expect((await run(args)).backend).toMatchObject({
        kind: 'redis',
        target: { options: { port: 6390, db: 3, password: 'pw' } },
      });
    fs.rmSync(dir, { recursive: true });
  });

  it('--redis-url-file holding something else (a bare password, another file) is not echoed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-flags-'));
    const file = path.join(dir, 'url');
    for (const content of ['s3cret-Pa55\n', 'user:s3cret-Pa55\n', 'http://s3cret-Pa55.example\n']) {
      fs.writeFileSync(file, content);
      for (const args of [
        ['run', 'jobs.yaml', '--redis-url-file', file],
        ['worker', '--redis-url-file', file],
      ]) {
        const r = await cli(args);
        expect(r.code, content).toBe(2);
        expect(r.stderr, content).toContain('--redis-url-file');
        expect(r.stderr, content).toMatch(/not a Redis URL/);
        expect(r.stderr, content).not.toContain('s3cret');
      }
    }
    fs.rmSync(dir, { recursive: true });
  });

  it('--redis-url-file reads only the head of an endless file (/dev/zero), or a URL from a pipe', async () => {
    const r = await cli(['run', 'jobs.yaml', '--redis-url-file', '/dev/zero']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--redis-url-file \/dev\/zero: its first line is not a Redis URL/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-flags-'));
    const fifo = path.join(dir, 'url');
    execFileSync('mkfifo', [fifo]);
    // a writer that keeps the pipe open after the URL's line: the reader stops at the line
    const writer = spawn('sh', ['-c', `{ echo redis://127.0.0.1:1/0; sleep 30; } > '${fifo}'`], {
      detached: true, // its own group: the kill below takes the sleep along
    });
    try {
      const ok = await run(['--redis-url-file', fifo]);
      expect(ok.backend).toMatchObject({
        kind: 'redis',
        target: { safe: 'redis://127.0.0.1:1/0' },
      });
    } finally {
      process.kill(-writer.pid!, 'SIGKILL');
      fs.rmSync(dir, { recursive: true });
    }
  });
});

describe('run: env defaults', () => {
  it('JOBRUN_SPAWNER and JOBRUN_KEEP_LOGS, below the flags; empty counts as unset', async () => {
    expect((await run([], { JOBRUN_SPAWNER: 'child' })).spawner).toBe('child');
    expect((await run(['--spawner', 'helper'], { JOBRUN_SPAWNER: 'child' })).spawner).toBe(
      'helper',
    );
    expect((await run([], { JOBRUN_SPAWNER: '' })).spawner).toBe('auto');
    expect((await run([], { JOBRUN_KEEP_LOGS: '4' })).keepLogs).toBe(4);
    expect((await run(['--keep-logs', '2'], { JOBRUN_KEEP_LOGS: 'all' })).keepLogs).toBe(2);
    expect((await run([], { JOBRUN_KEEP_LOGS: '' })).keepLogs).toBe(10);
  });

  it('a bad env value exits 2 naming the variable', async () => {
    await refused(
      ['run', 'jobs.yaml'],
      "env 'JOBRUN_SPAWNER'",
      /Allowed choices are auto, helper, child/,
      {
        JOBRUN_SPAWNER: 'fork',
      },
    );
    await refused(
      ['run', 'jobs.yaml'],
      "env 'JOBRUN_KEEP_LOGS'",
      /number of runs \(1 or more\) or "all"/,
      {
        JOBRUN_KEEP_LOGS: '0',
      },
    );
  });
});

describe('run: flags that exclude each other', () => {
  it.each([
    [['--fail-fast', '--halt', 'now'], "option '--fail-fast' cannot be used with option '--halt"],
    [['--json', '--events'], "option '--json' cannot be used with option '--events'"],
    [['--stdin', '-0', '-d', ','], "option '-0, --null' cannot be used with option '-d"],
    [
      ['--stdin', '--only', 'a'],
      "option '--only <name-glob>' cannot be used with option '--stdin'",
    ],
    [['--stdin', '--glob', '*'], "option '--glob <pattern>' cannot be used with option '--stdin'"],
  ])('%j', async (args, message) => {
    const r = await cli(['run', ...args], {}, ['true']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.options).toBeUndefined();
  });

  it('checks commander cannot express: exit 2, with the hint to --help', async () => {
    const cases: [string[], string, RegExp][] = [
      [['run', 'jobs.yaml', '--capture-max', '1k'], '--capture-max', /needs --capture/],
      [
        ['run', 'jobs.yaml', '-k', '--output', 'stream'],
        '-k',
        /does not work with --output stream/,
      ],
      [['run', 'jobs.yaml', '-k', '--output', 'none'], '-k', /does not work with --output none/],
      [['run', 'jobs.yaml', '--shell', '/bin/sh'], '--shell', /is for --glob\/--stdin commands/],
      [['run', '--stdin', '--shell', '/no/such/sh'], '--shell', /does not exist/],
      [
        ['run', 'jobs.yaml', '--backend', 'local', '--redis-url-file', 'f'],
        '--redis-url-file',
        /needs a Redis backend/,
      ],
    ];
    for (const [args, flag, reason] of cases) {
      await refused(args, flag, reason);
      expect((await cli(args)).stderr).toContain('(run with --help for usage)');
    }
  });
});

describe('bad values exit 2 with the flag, the value and how to write it', () => {
  it.each([
    ['-j', 'lots', /use a number like 4, 50%, \+1, -1, 0, or min:max like 2:8/],
    ['-j', '8:2', /min:max like 2:8/],
    ['-j', '99999999999999999999999', /at most 10000 workers/],
    ['--timeout', 'soon', /not a duration \(use e\.g\. 500ms, 30s/],
    ['--timeout', '0', /greater than 0/],
    ['--timeout', 'x%', /not a percentage \(use e\.g\. 300%\)/],
    ['--retries', '-1', /whole number of at least 0/],
    ['--retries', '1.5', /whole number/],
    ['--halt', 'sometimes', /now\|soon\[,fail=N/],
    ['--halt', 'soon,fail=0', /e\.g\. --halt soon,fail=3/],
    ['--output', 'loud', /Allowed choices are stream, grouped, none/],
    ['--progress', 'fancy', /Allowed choices are auto, tty, plain, none/],
    ['--capture', 'stderr', /Allowed choices are stdout, json, lines/],
    ['--capture-max', '0', /at least 1 byte/],
    ['--capture-max', 'lots', /not a size \(use e\.g\. 512M/],
    ['--logs', ' ', /needs a folder/],
    ['--results', '', /needs a folder/],
    ['--glob', '', /needs a pattern/],
    ['--keep-logs', '0', /number of runs \(1 or more\) or "all"/],
    ['--order', 'random', /Allowed choices are fifo, lifo/],
    ['--max-queue', '0', /whole number of at least 1/],
    ['--max-load', '0', /positive number/],
    ['--max-load', 'high', /positive number/],
    ['--min-free-mem', '2X', /not a size \(use e\.g\. 512M, 2G/],
    ['--delay', '-1s', /not a duration \(use e\.g\. 500ms/],
    ['-d', '', /must not be empty/],
    ['--colsep', '(', /not a regular expression/],
    ['-n', '0', /whole number of at least 1/],
    ['--kill-grace', '5 min', /not a duration \(use e\.g\. 500ms/],
    ['--backoff', 'soon', /the delay: not a duration \(use e\.g\. 500ms/],
    ['--backoff', '1s,0.5', /factor must be a number of at least 1/],
    ['--backoff', '1s,2,1m,4', /use delay\[,factor\[,max\]\]/],
    ['--redis-timeout', 'never', /not a duration \(use e\.g\. 500ms/],
    ['--spawner', 'fork', /Allowed choices are auto, helper, child/],
  ])('run %s %j', async (flag, value, reason) => {
    const r = await cli(['run', 'jobs.yaml', flag, value]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`option '[^']*${flag}[ ,'].*argument '${escape(value)}' is invalid`),
    );
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).toContain('(run with --help for usage)');
    expect(r.options).toBeUndefined();
  });

  it('--backend: refused without echoing a URL that may hold a password', async () => {
    const r = await cli(['run', 'jobs.yaml', '--backend', 'http://u:topsecret@h']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--backend: use local, redis .*redis:\/\/\[user:pass@\]host:port/);
    expect(r.stderr).not.toContain('topsecret');
    const url = await cli(['run', 'jobs.yaml', '--backend', 'redis://u:topsecret@h:x']);
    expect(url.code).toBe(2);
    expect(url.stderr).toMatch(/is not a Redis URL/);
    expect(url.stderr).not.toContain('topsecret');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('retry takes the run options it shares, parsed the same way', () => {
  it('typed values and defaults', async () => {
    const r = await cli(
      ['retry', 'report.json', '-j', '3', '--retries', '1', '--output', 'stream', '--json'],
      { JOBRUN_SPAWNER: 'child', JOBRUN_KEEP_LOGS: '2' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.options).toMatchObject({
      workers: { min: 3, max: 3 },
      overrides: { retries: 1 },
      output: { output: 'stream', json: true, progress: 'auto' },
      maxQueue: 10_000,
      keepLogs: 2,
      spawner: 'child',
      backend: { kind: 'local' },
    });
  });

  it('bad values exit 2', async () => {
    await refused(['retry', 'r.json', '-j', 'x'], "'-j, --workers <n|min:max>'", /worker count/);
    await refused(['retry', 'r.json', '--timeout', 'x'], "'--timeout <duration>'", /duration/);
    await refused(['retry', 'r.json', '--progress', 'x'], "'--progress <mode>'", /choices/);
  });
});

describe('worker', () => {
  const URL = 'redis://127.0.0.1:6390/1';

  it('typed values and defaults', async () => {
    const r = await cli([
      ...['worker', URL, '-j', '4', '--pool', 'cpu,gpu', '--pool', 'io', '--metrics-port', '9100'],
      ...['--metrics-host', '0.0.0.0', '--lock-duration', '5s', '--logs', 'wl'],
      ...['--delay', '1s', '--max-load', '6', '--min-free-mem', '1G', '--spawner', 'child'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const o = r.options as WorkerOptions;
    expect(o).toMatchObject({
      concurrency: 4,
      pools: ['cpu', 'gpu', 'io'],
      metricsPort: 9100,
      metricsHost: '0.0.0.0',
      lockDurationMs: 5000,
      logs: 'wl',
      gate: { delayMs: 1000, maxLoad: 6, minFreeMemBytes: 1024 ** 3 },
      spawner: 'child',
    });
    expect(o.target.options).toMatchObject({ port: 6390, db: 1 });
    const d = await cli(['worker', URL, '--pool', '*'], { JOBRUN_SPAWNER: 'helper' });
    expect(d.options).toMatchObject({ concurrency: 1, pools: '*', spawner: 'helper' });
  });

  it.each([
    ['-j', '0', /whole number of at least 1/],
    ['--pool', 'bad:name', /pool name "bad:name" cannot be used on Redis/],
    ['--metrics-port', '70000', /whole number from 0 to 65535/],
    ['--lock-duration', '10ms', /at least 1s/],
    ['--max-load', '-2', /positive number/],
    ['--logs', '', /needs a folder/],
    ['--metrics-host', '', /needs a host/], // '' would serve /metrics on every interface
    ['--spawner', 'fork', /Allowed choices/],
  ])('worker %s %j exits 2', async (flag, value, reason) => {
    await refused(['worker', URL, flag, value], flag, reason);
  });

  it('no Redis URL anywhere, or two: exit 2', async () => {
    await refused(['worker', URL, '--redis-url-file', 'f'], '--redis-url-file', /not both/);
  });
});

describe('clean', () => {
  it('--keep must be a whole number', async () => {
    await refused(['clean', '--keep', 'x'], "'--keep <n>'", /whole number of at least 0/);
  });
});
