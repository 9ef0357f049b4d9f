import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir, waitFor } from './helpers.js';

/**
 * A reader of jobrun's stdout slower than the jobs (here: one that stops reading for a
 * while, as a reader stopped with Ctrl-Z or SIGSTOP does) holds the jobs back, as under
 * GNU parallel: jobrun's memory stays bounded and every byte still arrives, in order.
 */
const dirs: string[] = [];
beforeAll(() => {
  if (!fs.existsSync(`${ROOT}/dist/bundle`)) throw new Error('run npm run build');
});
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Far above jobrun's own size, far below what the jobs write (600 MB). */
const PEAK_LIMIT_KB = 200 * 1024;
const LINE_PAD = 990;

/** A job printing `count` numbered lines of about 1000 bytes: `K N xxx…`. */
function numberedLines(count: number): string {
  return (
    `awk -v k={} 'BEGIN { p = sprintf("%${LINE_PAD}s", ""); gsub(/ /, "x", p); ` +
    `for (i = 1; i <= ${count}; i++) print k, i, p }'`
  );
}

/** Checks each line of a job's output as it comes: `K N xxx…`, N counting up from 1 per job. */
class LineCheck {
  readonly counts = new Map<string, number>();
  bad: string | undefined;
  private rest = '';

  constructor(private readonly prefixed: boolean) {}

  push(chunk: string): void {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  private line(line: string): void {
    const m = /^(?:\[(\w+)\] )?(\w+) (\d+) (x+)$/.exec(line);
    const job = m?.[2];
    const seen = job === undefined ? 0 : (this.counts.get(job) ?? 0);
    const ok =
      m !== null &&
      (this.prefixed ? m[1] === job : m[1] === undefined) &&
      Number(m[3]) === seen + 1 &&
      m[4]!.length === LINE_PAD;
    if (!ok) {
      this.bad ??= `after ${seen} lines of ${job}: ${line.slice(0, 80)}`;
      return;
    }
    this.counts.set(job!, seen + 1);
  }

  get left(): string {
    return this.rest;
  }
}

interface Reading {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** jobrun's peak resident memory (VmHWM), in KiB, as last read before it exited. */
  peakKb: number;
  stderr: string;
  check: LineCheck;
}

/**
 * Runs jobrun with a reader of its stdout that reads nothing until `resume()`; the
 * kernel pipe and this side's buffer fill, and jobrun's writes wait.
 */
function slowReader(args: string[], cwd: string, prefixed: boolean, killAfterMs = 150_000) {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', FORCE_COLOR: undefined },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const check = new LineCheck(prefixed);
  let stderr = '';
  let peakKb = 0;
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.setEncoding('latin1').pause();
  const sample = (): void => {
    try {
      const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {
      // exited between two looks: the last look stands
    }
  };
  const sampler = setInterval(sample, 50);
  const done = new Promise<Reading>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`jobrun did not end in ${killAfterMs} ms; stderr: ${stderr}`));
    }, killAfterMs);
    child.on('error', reject);
    // the exit: /proc/PID is still there until jobrun is reaped, which is now
    child.on('exit', sample);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({ code, signal, peakKb, stderr, check });
    });
  });
  return {
    done,
    stderr: () => stderr,
    signal: (signal: NodeJS.Signals) => child.kill(signal),
    /** The reader goes away: jobrun's next write to stdout fails with EPIPE. */
    close: () => child.stdout.destroy(),
    resume(): void {
      child.stdout.on('data', (d: string) => check.push(d));
      child.stdout.resume();
    },
  };
}

/**
 * Lets the reader of `run` read once jobrun said `last` on stderr (the run's last line:
 * every job ended meanwhile), and waits for the run, which failed.
 */
async function readOnceSaid(run: ReturnType<typeof slowReader>, last: string): Promise<Reading> {
  await waitFor(() => run.stderr().includes(last), 60_000, `"${last}"`);
  run.resume();
  const r = await run.done;
  expect(r.code).toBe(1);
  return r;
}

function project(): string {
  const dir = tempDir('jobrun-backpressure-');
  dirs.push(dir);
  return dir;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The job logs of the runs in `dir` so far. */
function logs(dir: string): string[] {
  const root = path.join(dir, '.jobrun/logs');
  if (!fs.existsSync(root)) return [];
  return fs.readdirSync(root).flatMap((run) =>
    fs
      .readdirSync(path.join(root, run))
      .filter((f) => f.endsWith('.log'))
      .map((f) => path.join(root, run, f)),
  );
}

/** Bytes in those logs: what the jobs wrote so far. */
function logBytes(dir: string): number {
  return logs(dir).reduce((sum, log) => sum + fs.statSync(log).size, 0);
}

describe('a reader slower than the jobs', () => {
  it('--output stream: jobs wait for the reader; memory stays bounded and every line arrives in order', async () => {
    const lines = 150_000; // 4 jobs × 150 MB
    const dir = project();
    const run = slowReader(
      ['run', '-j', '4', '--output', 'stream', '--', 'sh', '-c', numberedLines(lines)].concat([
        ':::',
        'a',
        'b',
        'c',
        'd',
      ]),
      dir,
      true,
    );
    await waitFor(() => logs(dir).length === 4, 60_000, 'the jobs to start');
    await sleep(3000);
    // the reader stopped: the jobs wait on their pipes, having written a few chunks each
    expect(logBytes(dir)).toBeLessThan(20_000_000);
    run.resume();
    const r = await run.done;
    expect(r.stderr).toContain('4 jobs: 4 succeeded');
    expect(r.code).toBe(0);
    expect(r.check.bad).toBeUndefined();
    expect(r.check.left).toBe('');
    expect(Object.fromEntries(r.check.counts)).toEqual({ a: lines, b: lines, c: lines, d: lines });
    expect(r.peakKb).toBeGreaterThan(0);
    expect(r.peakKb).toBeLessThan(PEAK_LIMIT_KB);
  }, 160_000);

  it('--output grouped (a pipe): no new job starts while the reader is behind', async () => {
    const lines = 2_000; // 40 jobs × 2 MB: each far more than the pipes hold
    const names = Array.from({ length: 40 }, (_, i) => `j${i}`);
    const dir = project();
    const run = slowReader(
      ['run', '-j', '4', '--', 'sh', '-c', numberedLines(lines), ':::', ...names],
      dir,
      false,
    );
    // a job's log is made at its first byte: the jobs that started
    const started = () => logs(dir).length;
    await waitFor(() => started() >= 4, 60_000, 'the first jobs to start');
    await sleep(3000);
    // 4 running, 4 queued behind them, 8 waiting to be copied, one being copied, and slack
    expect(started()).toBeLessThanOrEqual(24);
    run.resume();
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.check.bad).toBeUndefined();
    expect(r.check.counts.size).toBe(40);
    expect([...r.check.counts.values()].every((n) => n === lines)).toBe(true);
  }, 160_000);

  it('a job that ends while its output waits for the reader loses none of it', async () => {
    // `1000` fills the reader's pipe at once; `30` and `31` print in three parts, each
    // after a pause: the last part waits in their pipes while they exit
    const job =
      `p=$(printf "%${LINE_PAD}s" "" | tr " " x); i=1; while [ $i -le {} ]; do echo "{} $i $p"; ` +
      `if [ {} -lt 100 ] && [ $((i % 10)) = 0 ]; then sleep 0.3; fi; i=$((i + 1)); done`;
    const run = slowReader(
      ['run', '-j', '3', '--output', 'stream', '--', 'sh', '-c', job, ':::', '1000', '30', '31'],
      project(),
      true,
    );
    // longer than jobrun reads a pipe after its job's exit when nothing holds it back
    await sleep(5000);
    run.resume();
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.check.bad).toBeUndefined();
    expect(Object.fromEntries(r.check.counts)).toEqual({ 1000: 1000, 30: 30, 31: 31 });
  }, 60_000);

  it('a job whose output waits for a stopped reader still times out and is reported', async () => {
    const run = slowReader(
      ['run', '--output', 'stream', '--progress', 'plain', '--timeout', '1s', '--'].concat([
        'sh',
        '-c',
        'yes {}',
        ':::',
        'a',
      ]),
      project(),
      true,
    );
    // said on stderr while stdout's reader still reads nothing
    await waitFor(() => run.stderr().includes('timed out'), 30_000, 'the timeout');
    run.resume();
    const r = await run.done;
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 jobs?: 1 timed out/);
  }, 60_000);
  it('a job timed out while its output waits for the reader loses none of what it wrote', async () => {
    // `1000` fills the reader's pipe and blocks; `30` prints once jobrun waits for the
    // reader, so its lines wait in its pipe; both then time out
    const job =
      `p=$(printf "%${LINE_PAD}s" "" | tr " " x); [ {} -lt 100 ] && sleep 1; i=1; ` +
      `while [ $i -le {} ]; do echo "{} $i $p"; i=$((i + 1)); done; sleep 60`;
    const dir = project();
    const run = slowReader(
      ['run', '-j', '2', '--output', 'stream', '--progress', 'plain', '--timeout', '3s'].concat([
        '--',
        'sh',
        '-c',
        job,
        ':::',
        '1000',
        '30',
      ]),
      dir,
      true,
    );
    const r = await readOnceSaid(run, '2 jobs: 2 timed out');
    expect(r.check.bad).toBeUndefined();
    expect(r.check.counts.get('30')).toBe(30);
    // what the reader got of each job is its whole log, which holds every line it wrote
    for (const log of logs(dir)) {
      const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
      const job = lines[0]!.split(' ')[0]!;
      expect(lines.length, log).toBe(r.check.counts.get(job));
    }
    expect(logs(dir)).toHaveLength(2);
  }, 90_000);

  it('past 1 MiB after a timed-out job ended, what a process that left it writes is cut, and said so', async () => {
    const dir = project();
    const marker = `left-${path.basename(dir)}`;
    const run = slowReader(
      [
        'run',
        '--output',
        'stream',
        '--progress',
        'plain',
        '--timeout',
        '1s',
        '--report',
        'r.json',
      ].concat(['--', 'sh', '-c', `setsid sh -c "yes ${marker}" & sleep 60`, ':::', 'x']),
      dir,
      true,
    );
    await readOnceSaid(run, '1 job: 1 timed out');
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'r.json'), 'utf8')) as {
      jobs: Array<{ attempts: Array<{ error?: string }> }>;
    };
    expect(report.jobs[0]!.attempts[0]!.error).toMatch(
      /^output cut after \d+ bytes: more than 1 MiB/,
    );
    // its pipe closed, the escaped writer ends (EPIPE) rather than writing on
    const writers = () =>
      fs.readdirSync('/proc').filter((pid) => {
        try {
          return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
        } catch {
          return false;
        }
      });
    await waitFor(() => writers().length === 0, 10_000, 'the escaped writer to end');
  }, 90_000);

  it('Ctrl-C stops a run whose output waits for a stopped reader, within the kill grace', async () => {
    const dir = project();
    const run = slowReader(
      ['run', '-j', '2', '--output', 'stream', '--', 'sh', '-c', 'yes {}', ':::', 'a', 'b'],
      dir,
      true,
      40_000,
    );
    await waitFor(() => logs(dir).length === 2, 30_000, 'the jobs to start');
    run.signal('SIGINT');
    // the reader never reads again: the run must end anyway (re-raising SIGINT)
    const r = await run.done;
    expect(r.signal).toBe('SIGINT');
    expect(r.stderr).toContain('2 jobs: 2 cancelled');
  }, 60_000);
  it('a reader that went away (EPIPE) holds nothing back: under --graceful the job runs to its end', async () => {
    const run = slowReader(
      ['run', '--graceful', '30s', '--output', 'stream', '--', 'sh', '-c'].concat([
        'yes {} | head -c 3000000',
        ':::',
        'a',
      ]),
      project(),
      true,
      40_000,
    );
    run.close();
    const r = await run.done;
    expect(r.stderr).toContain('1 job: 1 succeeded');
    expect(r.stderr).toContain('SIGPIPE');
  }, 60_000);
});
