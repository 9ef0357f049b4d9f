import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { LostLogs, OutputLostError } from '../../src/reporters/lost-logs.js';
import { OutputReporter } from '../../src/reporters/output.js';
import { PlainReporter } from '../../src/reporters/plain.js';
import { StreamSink } from '../../src/reporters/sink.js';
import { LineDecorator } from '../../src/reporters/decorate.js';
import { capture, event, record, T0 } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'jobrun-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function log(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const summary = {
  total: 2,
  succeeded: 2,
  cached: 0,
  failed: 0,
  timed_out: 0,
  skipped: 0,
  cancelled: 0,
};
const runEnd = event('run_end', { runId: 'r', summary, durationMs: 10, exitCode: 0 });

describe('--output stream', () => {
  it('prefixes each whole line with the job name and asks for piped output', () => {
    const out = capture();
    const sink = new StreamSink(out.stream);
    const r = new OutputReporter({ mode: 'stream', sink, terminal: true });
    expect(r.needsOutput).toBe(true);
    r.onJobOutput(event('job_output', { id: 'a', name: 'a', stream: 'stdout', line: 'hello' }));
    r.onJobOutput(
      event('job_output', { id: 'b', name: 'b', stream: 'stderr', line: 'oops \u001b[2J\rmoved' }),
    );
    r.onJobOutput(
      event('job_output', { id: 'c', name: 'c\u001b]0;t\u0007', stream: 'stdout', line: 'x' }),
    );
    expect(out.text).toBe('[a] hello\n[b] oops ?[2J?moved\n[c?]0;t?] x\n');
  });

  it('on a terminal, a CRLF line end ends the line: its \\r is not shown as ?', async () => {
    const out = capture();
    const r = new OutputReporter({
      mode: 'stream',
      sink: new StreamSink(out.stream),
      terminal: true,
    });
    r.onJobOutput(event('job_output', { id: 'a', name: 'a', stream: 'stdout', line: 'dos\r' }));
    r.onJobOutput(event('job_output', { id: 'a', name: 'a', stream: 'stdout', line: 'a\rb' }));
    expect(out.text).toBe('[a] dos\n[a] a?b\n');
    const grouped = capture();
    const g = new OutputReporter({
      mode: 'grouped',
      sink: new StreamSink(grouped.stream),
      terminal: true,
    });
    const job = record('g', 0);
    job.attempts[0]!.logPath = log('crlf.log', 'one\r\ntwo\r\n');
    g.onJobEnd(event('job_end', { job }));
    await g.onRunEnd();
    expect(grouped.text).toBe('one\ntwo\n');
  });

  it('passes piped lines through raw (the name in the prefix is still cleaned)', () => {
    const out = capture();
    const r = new OutputReporter({ mode: 'stream', sink: new StreamSink(out.stream) });
    r.onJobOutput(
      event('job_output', {
        id: 'b',
        name: 'b\n',
        stream: 'stderr',
        line: 'oops \u001b[2J\rmoved',
      }),
    );
    expect(out.text).toBe('[b?] oops \u001b[2J\rmoved\n');
  });
});

describe('--output grouped', () => {
  it("copies each job's log(s) whole when it ends, one job at a time, and waits for them at the end", async () => {
    const big = 'x'.repeat(100) + '\n';
    const a = log('a.log', big.repeat(5000)); // 505 kB: several chunks
    const b1 = log('b.log', 'first attempt\n');
    const b2 = log('b2.log', 'second attempt, no newline');
    const out = capture();
    const sink = new StreamSink(out.stream);
    const r = new OutputReporter({ mode: 'grouped', sink, headers: true });
    expect(r.needsOutput).toBe(false);
    const plain = new PlainReporter({ sink, env: {}, color: false, waitFor: () => r.drained() });
    plain.onRunStart(
      event('run_start', { runId: 'r', manifestPath: null, total: 2, workers: 2, logDir: dir }),
    );
    const jobA = record('a', 0, { logPath: a });
    jobA.attempts[0]!.logPath = a;
    const jobB = record('b', 1, {
      attempts: [
        { attempt: 1, startedAt: T0, durationMs: 5, exitCode: 1, timedOut: false, logPath: b1 },
        {
          attempt: 2,
          startedAt: T0 + 10,
          durationMs: 5,
          exitCode: 0,
          timedOut: false,
          logPath: b2,
        },
      ],
    });
    for (const job of [jobA, jobB]) {
      r.onJobEnd(event('job_end', { job }));
      plain.onJobEnd(event('job_end', { job }));
    }
    await Promise.all([r.onRunEnd(), plain.onRunEnd(runEnd)]);
    const text = out.text;
    const aStart = text.indexOf('── a (succeeded');
    const aEnd = aStart + text.slice(aStart).indexOf('\n') + 1 + big.length * 5000;
    expect(aStart).toBeGreaterThanOrEqual(0);
    expect(text.slice(aStart).split('\n')[1]).toBe('x'.repeat(100));
    // no other line tore into a's output
    expect(
      text
        .slice(aStart, aEnd)
        .split('\n')
        .slice(1, -1)
        .every((l) => l === 'x'.repeat(100)),
    ).toBe(true);
    expect(text).toContain(
      '── attempt 1 ──\nfirst attempt\n── attempt 2 ──\nsecond attempt, no newline\n',
    );
    // each job's status line follows its output, in order: a's output, a, b's output, b
    const order = ['── a (', '[1/2] ✔ succeeded a', '── b (', '[2/2] ✔ succeeded b'].map((s) =>
      text.indexOf(s),
    );
    expect(order.every((at, i) => at >= 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
    expect(text.trimEnd().endsWith('2 jobs: 2 succeeded in 10ms')).toBe(true);
  });

  it('folds each job into ::group:: under GitHub Actions', async () => {
    const out = capture();
    const r = new OutputReporter({
      mode: 'grouped',
      sink: new StreamSink(out.stream),
      env: { GITHUB_ACTIONS: 'true' },
    });
    const job = record('build', 0);
    job.attempts[0]!.logPath = log('build.log', 'compiled\n');
    r.onJobEnd(event('job_end', { job }));
    r.onJobEnd(event('job_end', { job: record('silent', 1) })); // no log file: nothing printed
    await r.onRunEnd();
    expect(out.text).toBe('::group::build (succeeded, 100ms)\ncompiled\n::endgroup::\n');
  });

  it("a remote attempt's log is on its worker: its streams that came back are shown, stdout then stderr", async () => {
    const out = capture();
    const sink = new StreamSink(out.stream);
    // one destination for both (--json on stdout, a terminal, GitHub's folds)
    const r = new OutputReporter({ mode: 'grouped', sink, errSink: sink });
    expect(r.needsStreams).toBe(false);
    expect(r.needsRemoteStreams).toBe(true);
    r.onRunStart(
      event('run_start', { runId: 'r', manifestPath: null, total: 1, workers: 1, logDir: dir }),
    );
    const job = record('remote', 0);
    Object.assign(job.attempts[0]!, {
      logPath: '/on/another/machine/remote.1.log',
      stdoutPath: log('remote.1.remote.stdout', 'out\r\n'),
      stderrPath: log('remote.1.remote.stderr', 'err'),
      worker: 'host:42/1',
    });
    r.onJobEnd(event('job_end', { job }));
    await r.onRunEnd();
    expect(out.text).toBe('out\r\nerr\n');
  });

  it("escapes a job name in ::group:: by GitHub's rules", async () => {
    const out = capture();
    const r = new OutputReporter({
      mode: 'grouped',
      sink: new StreamSink(out.stream),
      env: { GITHUB_ACTIONS: 'true' },
    });
    const job = record('50% a\r\n::error::x', 0);
    job.attempts[0]!.logPath = log('g.log', 'ok\n');
    r.onJobEnd(event('job_end', { job }));
    await r.onRunEnd();
    expect(out.text).toBe('::group::50%25 a??::error::x (succeeded, 100ms)\nok\n::endgroup::\n');
  });

  it("piped, prints only the jobs' own bytes: no attempt headers, escapes kept", async () => {
    const raw = 'title \u001b]0;pwned\u0007 clear \u001b[2J \u001b[31mred\u001b[39m \u009b2J\n';
    const job = record('b', 1, {
      attempts: [
        {
          attempt: 1,
          startedAt: T0,
          durationMs: 5,
          exitCode: 1,
          timedOut: false,
          logPath: log('p1.log', 'one\n'),
        },
        {
          attempt: 2,
          startedAt: T0,
          durationMs: 5,
          exitCode: 0,
          timedOut: false,
          logPath: log('p2.log', raw),
        },
      ],
    });
    const piped = capture();
    const r = new OutputReporter({ mode: 'grouped', sink: new StreamSink(piped.stream) });
    r.onJobEnd(event('job_end', { job }));
    await r.onRunEnd();
    expect(piped.text).toBe(`one\n${raw}`);

    const tty = capture();
    const t = new OutputReporter({
      mode: 'grouped',
      sink: new StreamSink(tty.stream),
      headers: true,
      terminal: true,
    });
    t.onJobEnd(event('job_end', { job: { ...job, name: 'b\u001b[2J' } }));
    await t.onRunEnd();
    expect(tty.text).toBe(
      '── b?[2J (succeeded, 5ms) ──\n── attempt 1 ──\none\n── attempt 2 ──\n' +
        'title ?]0;pwned? clear ?[2J \u001b[31mred\u001b[39m ?2J\n',
    );
  });

  it('a log removed before its turn is said once per job, and the run ends in an error', async () => {
    const out = capture();
    const notices = capture();
    const noticeSink = new StreamSink(notices.stream);
    const lostLogs = new LostLogs((line) => noticeSink.line(line));
    const r = new OutputReporter({ mode: 'grouped', sink: new StreamSink(out.stream), lostLogs });
    lostLogs.onRunStart(
      event('run_start', { runId: 'r', manifestPath: null, total: 3, workers: 1, logDir: dir }),
    );
    const gone = (name: string) => join(dir, `${name}.missing.log`);
    // both attempts' logs gone: one notice for the job
    const job = record('gone', 0, {
      attempts: [1, 2].map((attempt) => ({
        attempt,
        startedAt: T0,
        durationMs: 5,
        exitCode: attempt === 1 ? 1 : 0,
        timedOut: false,
        logPath: gone(`gone-${attempt}`),
      })),
    });
    r.onJobEnd(event('job_end', { job }));
    // a remote worker's log, not in this run's folder: not this run's to miss
    const remote = record('remote', 1);
    remote.attempts[0]!.logPath = '/elsewhere/1-remote.log';
    r.onJobEnd(event('job_end', { job: remote }));
    const shown = record('shown', 2);
    shown.attempts[0]!.logPath = log('shown.log', 'ok\n');
    r.onJobEnd(event('job_end', { job: shown }));
    const ended = r.onRunEnd();
    await expect(ended).rejects.toBeInstanceOf(OutputLostError);
    await expect(ended).rejects.toThrow(
      /^the log of gone was removed before its output could be shown$/,
    );
    expect(out.text).toBe('ok\n');
    expect(notices.text).toBe(
      'jobrun: the log of gone was removed before its output could be shown\n',
    );
  });

  it('with the streams apart, a stream that printed nothing has no file: only both gone is a loss', async () => {
    const out = capture();
    const err = capture();
    const r = new OutputReporter({
      mode: 'grouped',
      sink: new StreamSink(out.stream),
      errSink: new StreamSink(err.stream),
    });
    expect(r.needsStreams).toBe(true);
    r.onRunStart(
      event('run_start', { runId: 'r', manifestPath: null, total: 2, workers: 1, logDir: dir }),
    );
    const apart = (name: string, index: number, stdout: string | undefined) => {
      const job = record(name, index);
      Object.assign(job.attempts[0]!, {
        logPath: join(dir, `${name}.log`),
        stdoutPath:
          stdout === undefined ? join(dir, `${name}.stdout`) : log(`${name}.stdout`, stdout),
        stderrPath: join(dir, `${name}.stderr`),
      });
      return job;
    };
    r.onJobEnd(event('job_end', { job: apart('quiet-stderr', 0, 'data\n') }));
    r.onJobEnd(event('job_end', { job: apart('both-gone', 1, undefined) }));
    await expect(r.onRunEnd()).rejects.toThrow(/^the log of both-gone was removed/);
    expect(out.text).toBe('data\n');
    expect(err.text).toBe(
      'jobrun: the log of both-gone was removed before its output could be shown\n',
    );
  });
});

describe('logs of several jobs lost', () => {
  it('the run ends in one error that counts them, in the plural', () => {
    const lostLogs = new LostLogs(() => {});
    for (const name of ['a', 'b'])
      lostLogs.lost(record(name, name === 'a' ? 0 : 1), join(dir, name));
    expect(lostLogs.error()?.message).toBe(
      'the logs of 2 jobs were removed before their output could be shown',
    );
  });
});

describe('grouped output after its reader left', () => {
  it('the reader gone (EPIPE), no log is said removed: nothing is shown there any more', async () => {
    // a pipe whose reader left, as stdout under `jobrun … | head -c 10`
    const broken = new Writable({
      write(_chunk, _enc, done) {
        done(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const err = capture();
    const r = new OutputReporter({
      mode: 'grouped',
      sink: new StreamSink(broken),
      errSink: new StreamSink(err.stream),
    });
    r.onRunStart(
      event('run_start', { runId: 'r', manifestPath: null, total: 2, workers: 1, logDir: dir }),
    );
    const first = record('first', 0);
    Object.assign(first.attempts[0]!, {
      logPath: join(dir, 'first.log'),
      stdoutPath: log('first.stdout', 'x'.repeat(100_000)),
    });
    r.onJobEnd(event('job_end', { job: first }));
    // a remote job stopped after that: its output was not sent back, so its files here
    // were never written (jobrun dropped them, nobody removed them)
    const dropped = record('dropped', 1, { status: 'cancelled' });
    Object.assign(dropped.attempts[0]!, {
      logPath: '/elsewhere/2-dropped.log',
      stdoutPath: join(dir, 'dropped.remote.stdout'),
      stderrPath: join(dir, 'dropped.remote.stderr'),
    });
    r.onJobEnd(event('job_end', { job: dropped }));
    await expect(r.onRunEnd()).resolves.toBeUndefined();
    expect(err.text).toBe('');
  });
});

describe('terminal text', () => {
  it('keeps a colour cut between two chunks, cleans every other escape', async () => {
    const chunks = ['a \u001b[3', '1mred\u001b', ']0;x\u0007\nb'].map((c) => Buffer.from(c));
    async function* source() {
      yield* chunks;
    }
    const out: Buffer[] = [];
    for await (const b of new LineDecorator('', true).copy(source())) out.push(b);
    expect(Buffer.concat(out).toString()).toBe('a \u001b[31mred?]0;x?\nb');
  });

  it('--tag prefixes every line of a copy, and keeps bytes that are not UTF-8 when piped', async () => {
    async function* source() {
      yield Buffer.from('one\ntw');
      yield Buffer.from([0x6f, 0xff, 0x0a, 0x74]);
    }
    const out: Buffer[] = [];
    for await (const b of new LineDecorator('n\t', false).copy(source())) out.push(b);
    expect(Buffer.concat(out)).toEqual(
      Buffer.from([...Buffer.from('n\tone\nn\ttwo'), 0xff, 0x0a, ...Buffer.from('n\tt')]),
    );
  });

  it('plain lines show a hostile name harmlessly; ::error escapes it by GitHub rules', () => {
    const out = capture();
    const plain = new PlainReporter({
      out: out.stream,
      env: { GITHUB_ACTIONS: 'true' },
      color: false,
    });
    const name = 'a,b: 50%\n::warning::x\u001b]0;t\u0007';
    const result = record(name, 0, { status: 'failed' }).attempts[0]!;
    plain.onAttemptEnd(event('attempt_end', { id: '1-a', name, result }));
    plain.onJobRetry(event('job_retry', { id: '1-a', name, nextAttempt: 2, delayMs: 0 }));
    plain.onJobEnd(event('job_end', { job: record(name, 0, { status: 'failed' }) }));
    const lines = out.text.split('\n');
    expect(lines[0]).toBe('↻ a,b: 50%?::warning::x?]0;t? exit 1, attempt 2 in 0ms');
    expect(lines).toContain(
      '::error title=jobrun%3A a%2Cb%3A 50%25%0A%3A%3Awarning%3A%3Ax\u001b]0;t\u0007 failed::' +
        'a,b: 50%25%0A::warning::x\u001b]0;t\u0007: exit 1',
    );
    expect(out.text).not.toContain('\n::warning');
  });
});
