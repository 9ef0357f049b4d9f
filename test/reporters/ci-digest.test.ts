import { describe, expect, it } from 'vitest';
import { DIGEST_ABOVE } from '../../src/reporters/ci-digest.js';
import { pickReporters } from '../../src/reporters/pick.js';
import { PlainReporter } from '../../src/reporters/plain.js';
import { capture, event, record, settings, shape, stripAnsi, T0 } from './helpers.js';

/** Feeds a run of `total` jobs (every 1,000th fails, one retry) through a plain reporter. */
async function ciRun(total: number | null, count: number, summarize: boolean) {
  const out = capture();
  let now = T0;
  const plain = new PlainReporter({
    out: out.stream,
    color: false,
    env: {},
    summarize,
    now: () => now,
  });
  plain.onRunStart(
    event('run_start', { runId: 'r', manifestPath: null, total, workers: 4, logDir: '/l' }),
  );
  for (let i = 0; i < count; i++) {
    now += 10; // a job ends every 10ms: a progress line every 500 jobs
    const name = `job-${i}`;
    if (i === 42)
      plain.onJobRetry(
        event('job_retry', { id: `${i + 1}-${name}`, name, nextAttempt: 2, delayMs: 100 }),
      );
    const failed = i % 1000 === 999;
    plain.onJobEnd(
      event('job_end', {
        job: record(name, i, failed ? { status: 'failed', outputTail: `boom ${i}\n` } : {}),
      }),
    );
  }
  const summary = {
    total: count,
    succeeded: count - Math.floor(count / 1000),
    cached: 0,
    failed: Math.floor(count / 1000),
    timed_out: 0,
    skipped: 0,
    cancelled: 0,
  };
  await plain.onRunEnd(
    event('run_end', { runId: 'r', summary, durationMs: now - T0, exitCode: 1 }),
  );
  return stripAnsi(out.text).split('\n').filter(Boolean);
}

describe('CI log of a large run', () => {
  it('10,000 jobs: every failure and retry with its tail, successes summarized', async () => {
    const lines = await ciRun(10_000, 10_000, true);
    expect(lines.length).toBeLessThan(100);
    for (let i = 999; i < 10_000; i += 1000) {
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`✖ failed +job-${i} `)));
      expect(lines).toContainEqual(expect.stringContaining(`boom ${i}`));
    }
    expect(lines).toContainEqual(expect.stringMatching(/↻ job-42 /));
    expect(lines.filter((l) => /✔ succeeded/.test(l))).toEqual([]);
    const progress = lines.filter((l) => /\d+ succeeded.*not listed since the last line/.test(l));
    expect(progress.length).toBeGreaterThanOrEqual(19); // 100 s of run, a line every 5 s
    expect(progress.at(-1)).toMatch(/^\[10000\/10000\] 9990 succeeded, 10 failed after 1m40s/);
    expect(lines.at(-1)).toBe('10000 jobs: 9990 succeeded, 10 failed in 1m40s');
    expect(lines[1]).toContain('--progress plain lists every job');
  });

  it('a streamed run summarizes once more than the threshold ended', async () => {
    const lines = await ciRun(null, 1000, true);
    expect(lines.filter((l) => /✔ succeeded/.test(l))).toHaveLength(DIGEST_ABOVE);
    expect(lines).toContainEqual(expect.stringMatching(/✖ failed +job-999 /));
    expect(lines.length).toBeLessThan(DIGEST_ABOVE + 20);
  });

  it('small runs, and --progress plain, list every job', async () => {
    expect(
      (await ciRun(DIGEST_ABOVE, DIGEST_ABOVE, true)).filter((l) => /✔ succeeded/.test(l)),
    ).toHaveLength(DIGEST_ABOVE);
    expect(
      (await ciRun(2000, 2000, false)).filter((l) => /succeeded/.test(l)).length,
    ).toBeGreaterThan(1990);
  });

  it('--progress auto without a terminal summarizes; --progress plain does not', () => {
    const term = { stdout: capture().stream, stderr: capture().stream };
    const auto = pickReporters(settings({ progress: 'auto' }), shape(), { CI: 'true' }, term);
    const plain = pickReporters(settings({ progress: 'plain' }), shape(), { CI: 'true' }, term);
    const opts = (r: unknown) => (r as { options: { summarize?: boolean } }).options;
    expect(opts(auto.find((r) => r instanceof PlainReporter)).summarize).toBe(true);
    expect(opts(plain.find((r) => r instanceof PlainReporter)).summarize).toBe(false);
  });
});

describe('the first line', () => {
  const first = (total: number | null, manifestPath: string | null, workers = 2) => {
    const out = capture();
    const plain = new PlainReporter({ out: out.stream, color: false, env: {} });
    plain.onRunStart(
      event('run_start', { runId: 'r', manifestPath, total, workers, logDir: '/l' }),
    );
    return stripAnsi(out.text).split('\n')[0];
  };

  it('counts the jobs when they are known, and says where they come from when not', () => {
    expect(first(3, 'm.yaml')).toBe('jobrun: 3 jobs, 2 workers, logs in /l');
    expect(first(1, null)).toBe('jobrun: 1 job, 2 workers, logs in /l');
    expect(first(1, null, 1)).toBe('jobrun: 1 job, 1 worker, logs in /l');
    expect(first(null, null)).toBe('jobrun: jobs from input, 2 workers, logs in /l');
    expect(first(null, 'etl.yaml')).toBe(
      'jobrun: jobs as its stages make them, 2 workers, logs in /l',
    );
  });
});
