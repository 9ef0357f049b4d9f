import { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import type { AttemptResult } from '../../src/model/attempt.js';
import type { JobRecord, RunEvent, RunEventMap, RunEventType } from '../../src/model/events.js';
import type { Report } from '../../src/reporters/report.js';
import { ReportCollector } from '../../src/reporters/report.js';

export const T0 = Date.UTC(2026, 0, 2, 3, 4, 5);

/** A finished job; `ms` is how long its one attempt ran, starting `at` ms after T0. */
export function record(
  name: string,
  index: number,
  overrides: Partial<JobRecord> & { ms?: number; at?: number } = {},
): JobRecord {
  const { ms = 100, at = 0, ...rest } = overrides;
  const status = rest.status ?? 'succeeded';
  const ran = status !== 'skipped' && !(status === 'cancelled' && rest.attempts?.length === 0);
  const attempt: AttemptResult = {
    attempt: 1,
    startedAt: T0 + at,
    durationMs: ms,
    exitCode: status === 'succeeded' ? 0 : status === 'failed' ? 1 : undefined,
    signal: status === 'timed_out' || status === 'cancelled' ? 'SIGTERM' : undefined,
    timedOut: status === 'timed_out',
    worker: String((index % 4) + 1),
  };
  const attempts = rest.attempts ?? (ran ? [attempt] : []);
  return {
    id: `${index + 1}-${name}`,
    name,
    index,
    command: `run ${name}`,
    cwd: '/tmp',
    priority: 0,
    needs: [],
    allowFailure: false,
    status,
    exitCode: attempts.at(-1)?.exitCode,
    signal: attempts.at(-1)?.signal,
    attempts,
    worker: attempts.at(-1)?.worker,
    startedAt: attempts[0]?.startedAt,
    endedAt: attempts.length ? attempts.at(-1)!.startedAt + attempts.at(-1)!.durationMs : T0 + at,
    ...rest,
  };
}

export function event<K extends RunEventType>(
  type: K,
  payload: RunEventMap[K],
  time = T0,
): RunEvent<K> {
  return { type, time, ...payload } as unknown as RunEvent<K>;
}

/** The report a run with these finished jobs would produce. */
export function reportOf(jobs: JobRecord[], durationMs = 1000): Report {
  const c = new ReportCollector();
  c.add(
    event('run_start', {
      runId: 'r1',
      manifestPath: '/m/jobs.yaml',
      total: jobs.length,
      workers: 4,
      logDir: '/l',
    }),
  );
  for (const job of jobs) c.add(event('job_end', { job }));
  const summary = {
    total: jobs.length,
    succeeded: 0,
    cached: 0,
    failed: 0,
    timed_out: 0,
    skipped: 0,
    cancelled: 0,
  };
  for (const j of jobs) summary[j.status]++;
  return c.build(
    event(
      'run_end',
      { runId: 'r1', summary, durationMs, exitCode: summary.failed ? 1 : 0 },
      T0 + durationMs,
    ),
  );
}

/** A writable that records what was written, optionally pretending to be a terminal. */
export function capture(tty?: { columns: number; rows: number }) {
  let text = '';
  let writes = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString('utf8');
      writes++;
      done();
    },
  }) as Writable & { isTTY?: boolean; columns?: number; rows?: number };
  if (tty) Object.assign(stream, { isTTY: true, ...tty });
  return {
    stream,
    get text() {
      return text;
    },
    /** How many writes reached the stream so far. */
    writes: () => writes,
  };
}

export const stripAnsi = (s: string) => stripVTControlCharacters(s);
