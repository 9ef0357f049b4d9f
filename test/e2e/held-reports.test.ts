import { describe, expect, it } from 'vitest';
import { jobrun, tempDir } from './helpers.js';

interface Attempt {
  startedAt: string;
  durationMs: number;
}

interface JobRow {
  name: string;
  status: string;
  worker: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  attempts: Attempt[];
}

describe.runIf(process.platform === 'linux')('reports a spawner held back', () => {
  // At -j 1 jobs wait twelve deep in the spawner, which holds the news of their ends
  // (up to 50 ms) to share a write: the job's end is its attempt's, not when jobrun heard.
  it("dates a job's end back with its attempt's: no job ends after the next one in its slot started", async () => {
    const dir = tempDir();
    const input = Array.from({ length: 40 }, (_, i) => `${i + 1}\n`).join('');
    const res = await jobrun(
      ['run', '--stdin', '-j', '1', '--progress', 'none', '--json', '--', 'true {}'],
      { cwd: dir, input, timeoutMs: 60_000 },
    );
    expect(res.code, res.stderr).toBe(0);
    const jobs = (JSON.parse(res.stdout) as { jobs: JobRow[] }).jobs;
    expect(jobs).toHaveLength(40);
    const ms = (iso: string) => Date.parse(iso);
    for (const job of jobs) {
      expect(job.status).toBe('succeeded');
      expect(job.attempts).toHaveLength(1);
      const attempt = job.attempts[0]!;
      // ISO times keep milliseconds: a job's end is its only attempt's, to the millisecond
      const attemptEnd = ms(attempt.startedAt) + attempt.durationMs;
      expect(Math.abs(ms(job.endedAt) - attemptEnd), job.name).toBeLessThanOrEqual(2);
      expect(Math.abs(job.durationMs - attempt.durationMs), job.name).toBeLessThanOrEqual(2);
      expect(job.durationMs, `${job.name} ends before it starts`).toBeGreaterThanOrEqual(0);
    }
    // at -j 1 they run one after the other in input order (not sorted by start: two
    // starts a millisecond apart may swap as they are rounded)
    const inOrder = [...jobs].sort((a, b) => Number(a.name) - Number(b.name));
    for (const [i, after] of inOrder.entries()) {
      const before = inOrder[i - 1];
      if (before === undefined) continue;
      expect(
        ms(before.endedAt),
        `${before.name} ends before ${after.name} starts`,
      ).toBeLessThanOrEqual(ms(after.startedAt) + 2);
    }
  });
});
