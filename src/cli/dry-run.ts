import { Scheduler } from '../core/scheduler.js';
import { jobId, type JobSpec, type PoolSpec } from '../model/job.js';
import type { Executor } from '../exec/types.js';

interface PlanOptions {
  pools: Record<string, PoolSpec>;
  order: 'fifo' | 'lifo';
  selected?: Set<string>;
  json: boolean;
  out?: NodeJS.WritableStream;
}

/** An executor that succeeds at once without running anything. */
const instant: Executor = {
  start: (req) => ({
    result: Promise.resolve({
      attempt: req.attempt,
      startedAt: 0,
      durationMs: 0,
      exitCode: 0,
      timedOut: false,
    }),
    stop: () => {},
  }),
};

/**
 * `--dry-run`: prints each job in the order it would start with one worker. The
 * order comes from the real scheduler driving an executor that succeeds at once,
 * so priorities, needs and `--order` are applied exactly as in a real run.
 */
export async function printPlan(
  jobs: JobSpec[] | AsyncIterable<JobSpec>,
  options: PlanOptions,
): Promise<void> {
  const out = options.out ?? process.stdout;
  const specs = new Map<string, JobSpec>();
  const ordered: JobSpec[] = [];
  const emitLine = (job: JobSpec, n: number) => {
    if (options.json) {
      out.write(
        JSON.stringify({
          n,
          name: job.name,
          pool: job.pool ?? null,
          priority: job.priority,
          needs: job.needs,
          command: job.command,
          cwd: job.cwd,
        }) + '\n',
      );
      return;
    }
    const meta = [
      job.pool ? `pool=${job.pool}` : '',
      job.priority ? `priority=${job.priority}` : '',
      job.needs.length ? `needs=${job.needs.join(',')}` : '',
    ].filter(Boolean);
    out.write(
      `${n}. ${job.name}${meta.length ? `  (${meta.join(' ')})` : ''}\n    ${job.command}\n`,
    );
  };
  const track = Array.isArray(jobs)
    ? jobs.map((j) => (specs.set(jobId(j), j), j))
    : (async function* () {
        for await (const j of jobs) {
          specs.set(jobId(j), j);
          yield j;
        }
      })();
  const scheduler = new Scheduler({
    runId: 'dry-run',
    manifestPath: null,
    logDir: '',
    workers: { min: 1, max: 1 },
    pools: options.pools,
    order: options.order,
    executor: instant,
    selected: options.selected ? (job) => options.selected!.has(job.name) : undefined,
    emit: (type, payload) => {
      if (type !== 'job_start') return;
      const id = (payload as { id: string }).id;
      const job = specs.get(id);
      if (!job) return;
      ordered.push(job);
      emitLine(job, ordered.length);
      if (!Array.isArray(jobs)) specs.delete(id);
    },
  });
  await scheduler.run(track);
}
