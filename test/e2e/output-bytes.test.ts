import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { BIN, tempDir, waitFor } from './helpers.js';
import { killWorkers, startWorker } from './redis-helpers.js';

/**
 * A job's output reaches jobrun's stdout and stderr as the job wrote it, byte for byte,
 * in every output mode, locally and through Redis: what GNU parallel users expect.
 */

interface Bytes {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
}

/** Runs the built bin with stdout and stderr piped, keeping their raw bytes. */
function run(args: string[], cwd: string): Promise<Bytes> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: undefined },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jobrun ${args.join(' ')} timed out: ${Buffer.concat(err).toString()}`));
    }, 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err) });
    });
  });
}

/** jobrun's own lines on stderr (`1 job: …`) come after the job's; this is the job's part. */
function jobStderr(stderr: Buffer, own: string): Buffer {
  const at = stderr.lastIndexOf(own);
  return at === -1 ? stderr : stderr.subarray(0, at);
}

const CRLF = `printf 'a\\r\\nb\\r\\n'`;

describe('CRLF line ends reach stdout as the job wrote them', () => {
  const cases: Array<[string, string[], string]> = [
    ['grouped', [], 'a\r\nb\r\n'],
    ['grouped --tag', ['--tag'], '1\ta\r\n1\tb\r\n'],
    ['stream', ['--output', 'stream'], '[1] a\r\n[1] b\r\n'],
    ['stream --tag', ['--output', 'stream', '--tag'], '1\ta\r\n1\tb\r\n'],
  ];
  for (const [mode, flags, expected] of cases) {
    it(`${mode}: every \\r before a newline is kept, the prefix before each line`, async () => {
      const r = await run(['run', ...flags, '--', CRLF, ':::', '1'], tempDir());
      expect(r.code, r.stderr.toString()).toBe(0);
      expect(r.stdout.toString('latin1')).toBe(expected);
    });
  }
});

const enabled = requireRedisOrWarn('test/e2e/output-bytes.test.ts');

describe.runIf(enabled)('a remote job prints the same bytes as a local one', () => {
  let redis: RedisServer;
  let dir: string;
  /** CRLF, bytes that are not UTF-8, a NUL, a line far longer than one piece, no last newline. */
  const job =
    `printf 'a\\r\\n\\377\\376 b\\000c\\r\\n'; head -c 200000 /dev/zero | tr '\\0' x; ` +
    `printf '\\r\\nend'; printf 'e\\r\\nno newline' >&2`;

  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir('jobrun-bytes-redis-');
    fs.writeFileSync(path.join(dir, 'job.sh'), job);
    await startWorker(redis.url, ['-j', '2'], dir);
  });
  afterAll(async () => {
    await killWorkers();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const expected = Buffer.concat([
    Buffer.from('a\r\n\xff\xfe b\x00c\r\n', 'latin1'),
    Buffer.alloc(200_000, 'x'),
    Buffer.from('\r\nend'),
  ]);

  for (const [mode, flags] of [
    ['grouped', []],
    ['grouped --tag', ['--tag']],
  ] as Array<[string, string[]]>) {
    it(`${mode}: stdout and stderr are the local run's bytes`, async () => {
      const args = ['run', ...flags, '--', 'sh job.sh', ':::', '1'];
      const local = await run(args, dir);
      const remote = await run(
        [...args.slice(0, 1), '--backend', redis.url, ...args.slice(1)],
        dir,
      );
      expect(local.code, local.stderr.toString()).toBe(0);
      expect(remote.code, remote.stderr.toString()).toBe(0);
      if (flags.length === 0) expect(local.stdout.equals(expected)).toBe(true);
      expect(remote.stdout.equals(local.stdout)).toBe(true);
      const own = '\n1 job: 1 succeeded';
      const localErr = jobStderr(local.stderr, own);
      expect(localErr.toString()).toBe(
        flags.length === 0 ? 'e\r\nno newline' : '1\te\r\n1\tno newline',
      );
      expect(jobStderr(remote.stderr, own).toString()).toBe(localErr.toString());
    });
  }

  it("stream --tag: the tag is the job's name alone, as parallel's and as grouped --tag's", async () => {
    const args = ['run', '--output', 'stream', '--tag', '--', 'sh job.sh', ':::', '1'];
    const local = await run(args, dir);
    const remote = await run([...args.slice(0, 1), '--backend', redis.url, ...args.slice(1)], dir);
    expect(remote.code, remote.stderr.toString()).toBe(0);
    expect(local.stdout.subarray(0, 6).toString()).toBe('1\ta\r\n1');
    expect(remote.stdout.equals(local.stdout)).toBe(true);
  });

  it(
    'grouped, the reader gone (| head -c 10): the run ends, the jobs still sending cancelled, no log said removed',
    {
      timeout: 150_000,
    },
    () => {
      // job 1 fills the pipe, so jobrun's write meets the reader's end; jobs 2 and 3 print,
      // then wait for a gate opened only once the run ended (a minute at most): however
      // fast the machine, they still run when the reader leaves, and are stopped with
      // their output partly sent or not at all, which jobrun then has no one to show to
      const gate = 'reader-gone.gate';
      fs.rmSync(path.join(dir, gate), { force: true });
      const wait = `i=0; while [ ! -e ${gate} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`;
      const job = `if [ {} = 1 ]; then seq 20000; else seq 100000; ${wait}; fi`;
      const pipeline = `"$NODE" "$BIN" run --backend ${redis.url} -- '${job}' ::: 1 2 3 | head -c 10`;
      let r: SpawnSyncReturns<string>;
      try {
        r = spawnSync('bash', ['-c', `${pipeline}; echo "jobrun exit \${PIPESTATUS[0]}" >&2`], {
          cwd: dir,
          encoding: 'utf8',
          timeout: 120_000,
          env: { ...process.env, CI: 'true', NODE: process.execPath, BIN },
        });
      } finally {
        fs.writeFileSync(path.join(dir, gate), '');
      }
      expect(r.signal, r.stderr).toBeNull();
      expect(r.stdout, r.stderr).toBe('1\n2\n3\n4\n5\n');
      expect(r.stderr).toMatch(/3 jobs: 1 succeeded, 2 cancelled .*\(interrupted by SIGPIPE\)/);
      // jobrun stopped showing output because the reader left: no log of 2 or 3 was removed
      expect(r.stderr).not.toContain('removed');
      expect(r.stderr).toContain('jobrun exit 141');
    },
  );

  for (const [mode, flags] of [
    ['grouped', []],
    ['--results, no output', ['--results', 'results', '--output', 'none']],
  ] as Array<[string, string[]]>)
    it(`${mode}, Ctrl-C while the jobs run: no log said removed, the run ends by the signal`, async () => {
      // each job prints, says so, then waits for a gate opened only once the run ended (a
      // minute at most): both still run at the Ctrl-C, and their worker sends none of the
      // output of a job stopped, which jobrun must not take for a log removed
      const gate = 'interrupted.gate';
      fs.rmSync(path.join(dir, gate), { force: true });
      for (const n of [1, 2]) fs.rmSync(path.join(dir, `printed-${n}`), { force: true });
      const wait = `i=0; while [ ! -e ${gate} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`;
      const job = `seq 100000; touch printed-{}; ${wait}`;
      const child = spawn(
        process.execPath,
        [BIN, 'run', '--backend', redis.url, ...flags, '--', job, ':::', '1', '2'],
        {
          cwd: dir,
          env: { ...process.env, CI: 'true', NO_COLOR: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdout.resume();
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      try {
        await waitFor(
          () => [1, 2].every((n) => fs.existsSync(path.join(dir, `printed-${n}`))),
          60_000,
          'both jobs printing',
        );
        child.kill('SIGINT');
        // 130 said, then the signal raised again: jobrun ends as Ctrl-C ends a program
        expect(await exited, stderr).toBe('SIGINT');
      } finally {
        fs.writeFileSync(path.join(dir, gate), '');
        child.kill('SIGKILL');
      }
      expect(stderr).toMatch(/2 jobs: 2 cancelled .*\(interrupted by SIGINT\)/);
      expect(stderr).not.toContain('removed');
    }, 120_000);

  it('stream: lines keep their \\r and bytes; pieces of the long line as locally', async () => {
    const args = ['run', '--output', 'stream', '--', 'sh job.sh', ':::', '1'];
    const local = await run(args, dir);
    const remote = await run([...args.slice(0, 1), '--backend', redis.url, ...args.slice(1)], dir);
    expect(remote.code, remote.stderr.toString()).toBe(0);
    // the remote prefix names the worker too: [1@host:pid/slot]
    const unlabelled = Buffer.from(
      remote.stdout.toString('latin1').replace(/\[1@[^\]\n]+\] /g, '[1] '),
      'latin1',
    );
    expect(local.stdout.subarray(0, 19).toString('latin1')).toBe(
      '[1] a\r\n[1] \xff\xfe b\x00c\r\n',
    );
    expect(unlabelled.equals(local.stdout)).toBe(true);
  });
});

/** A worker on "another machine": its logs on a tmpfs only its own mount namespace sees. */
const isolated = enabled && canIsolate();

/**
 * Whether a process may get a mount namespace of its own here (`unshare -m`: root, or a
 * user namespace). Where it may not, the suite skips, saying so; in CI it must run.
 */
function canIsolate(): boolean {
  if (spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0) return true;
  const suite = 'test/e2e/output-bytes.test.ts (a worker whose logs the coordinator cannot read)';
  if (process.env.CI) {
    throw new Error(`${suite}: unshare -m cannot run here, and CI is set: run the tests as root`);
  }
  console.warn(`\n!!! ${suite}: SKIPPED — unshare -m needs root (or user namespaces).\n`);
  return false;
}

describe.runIf(isolated)('a worker whose logs the coordinator cannot read', () => {
  let redis: RedisServer;
  let dir: string;
  let worker: ReturnType<typeof spawn> | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    dir = tempDir('jobrun-bytes-apart-');
    const logs = path.join(dir, 'worker-logs');
    fs.mkdirSync(logs);
    const script = `mount -t tmpfs none "$LOGS" && exec "$NODE" "$BIN" worker ${redis.url} --logs "$LOGS"`;
    worker = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', script], {
      cwd: dir,
      env: { ...process.env, CI: 'true', LOGS: logs, NODE: process.execPath, BIN },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    worker.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    for (let i = 0; i < 600 && !said.includes('serving') && worker.exitCode === null; i++)
      await new Promise((r) => setTimeout(r, 50));
    if (!said.includes('serving')) throw new Error(`worker did not start: ${said}`);
  });
  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const gone = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGKILL');
      await gone;
    }
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const job = `printf 'o\\r\\n'; printf 'e' >&2`;
  for (const [why, flags, env] of [
    ['--json: job output on stderr', ['--json', '--output', 'grouped'], {}],
    ['GitHub folds', ['--output', 'grouped'], { GITHUB_ACTIONS: 'true' }],
  ] as Array<[string, string[], NodeJS.ProcessEnv]>) {
    it(`${why}: grouped output comes back, not looked for in the worker's log`, () => {
      const r = spawnSync(
        process.execPath,
        [BIN, 'run', '--backend', redis.url, ...flags, '--', job, ':::', 'j'],
        {
          cwd: dir,
          encoding: 'latin1',
          timeout: 60_000,
          env: { ...process.env, CI: 'true', NO_COLOR: '1', GITHUB_ACTIONS: undefined, ...env },
        },
      );
      expect(r.status, r.stderr).toBe(0);
      const shown = flags.includes('--json') ? r.stderr : r.stdout;
      expect(shown).toContain('o\r\ne');
    });
  }
});
