import { formatDuration, workersText } from '../../reporters/format.js';
import { clean } from '../../reporters/text.js';
import type { Reach } from './reach.js';

interface Row extends Record<string, unknown> {
  runId: string;
  startedAt: string;
  pid: number;
  /** Runs listed in Redis: the coordinator's machine. */
  host?: string;
  what: string;
  cwd: string;
  error?: string;
}

/**
 * `jobrun ps`: the live runs (the user's here, or those on a Redis, with their host),
 * with their counts; `--json` as an array.
 */
export async function psCommand({ runs }: Reach, json: boolean): Promise<void> {
  const rows: Row[] = await Promise.all(
    runs.map(async ({ ask: _ask, status, ...entry }): Promise<Row> => {
      try {
        const { ended: _ended, startedAt: _epoch, ...counts } = await status();
        return { ...counts, ...entry }; // the entry's id and ISO start, also before run_start
      } catch (err) {
        return { ...entry, error: (err as Error).message };
      }
    }),
  );
  if (json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  if (rows.length === 0) {
    process.stderr.write('jobrun: no live runs\n');
    return;
  }
  const hosts = rows.some((row) => row.host !== undefined);
  const lines = rows.map((row) => [
    row.runId,
    ...(hosts ? [clean(row.host ?? '')] : []),
    String(row.pid),
    started(row.startedAt),
    row.error === undefined ? progress(row) : 'not answering',
    clean(row.what),
    clean(row.cwd),
  ]);
  const header = [
    'RUN',
    ...(hosts ? ['HOST'] : []),
    'PID',
    'STARTED',
    'PROGRESS',
    'WHAT',
    'FOLDER',
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]?.length ?? 0)));
  for (const line of [header, ...lines])
    process.stdout.write(
      line
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd() + '\n',
    );
}

/** When the run started: the time today, else the date and time (local). */
function started(iso: unknown): string {
  const at = new Date(String(iso));
  if (Number.isNaN(at.getTime())) return '?';
  const time = at.toTimeString().slice(0, 8);
  return at.toDateString() === new Date().toDateString()
    ? time
    : `${at.toISOString().slice(0, 10)} ${time}`;
}

/**
 * `12/100 done, 1 failed, running 4, queued 83, retrying 1, workers 4, 1m20s, paused`; a Redis run says
 * `at most 4 at once` (its limit across the workers) or that its workers' slots hold it.
 */
function progress(row: Record<string, unknown>): string {
  const done = (row.done ?? {}) as Record<string, number>;
  const ended = Object.values(done).reduce((a, b) => a + b, 0);
  const total = typeof row.total === 'number' ? `/${row.total}` : '';
  const parts = [`${ended}${total} done`];
  for (const status of ['cached', 'failed', 'timed_out', 'skipped', 'cancelled'])
    if (done[status]) parts.push(`${done[status]} ${status.replace('_', ' ')}`);
  parts.push(`running ${String(row.running)}`, `queued ${String(row.queued)}`);
  // a job waiting out its backoff is neither: without this it is nowhere in the line
  if (Number(row.retrying) > 0) parts.push(`retrying ${String(row.retrying)}`);
  const workers = Number(row.workers);
  parts.push(row.remote ? workersText(workers, true) : `workers ${workers}`);
  const since = Date.parse(String(row.startedAt));
  if (Number.isFinite(since)) parts.push(formatDuration(Date.now() - since));
  if (row.paused) parts.push('paused');
  const pools = row.pausedPools as string[] | undefined;
  if (pools?.length) parts.push(`paused pools ${pools.join(',')}`);
  if (typeof row.stopping === 'string') parts.push(`stopping (${row.stopping})`);
  return parts.join(', ');
}
