import { Scheduler } from '../core/scheduler.js';
import { jobId, type JobSpec, type PoolSpec, type StageSpec } from '../model/job.js';
import type { Executor } from '../exec/types.js';
import { defaultShell } from '../manifest/default-shell.js';

interface PlanOptions {
  pools: Record<string, PoolSpec>;
  order: 'fifo' | 'lifo';
  selected?: Set<string>;
  /** Stages of a pipeline: shown after the jobs known up front, with their templates. */
  stages?: StageSpec[];
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
  const stages = options.stages ?? [];
  let later: JobSpec[] = [];
  if (stages.length && Array.isArray(jobs)) {
    [jobs, later] = splitByStages(jobs, stages);
  }
  const specs = new Map<string, JobSpec>();
  const ordered: JobSpec[] = [];
  const shells = new Set<string | undefined>();
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
          shell: shellOf(job) ?? null,
        }) + '\n',
      );
      return;
    }
    const shell = shellOf(job);
    shells.add(shell);
    const meta = [
      shell !== undefined && shell !== defaultShell() ? `shell=${shell}` : '',
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
  if (stages.length) printStages(stages, later, options.json, out);
  if (!options.json && shells.size > 0) out.write(shellLine(shells));
}

/** The shell that runs `job.command`, or undefined when the job runs its argv directly. */
function shellOf(job: JobSpec): string | undefined {
  return job.argv === undefined ? job.shell : undefined;
}

/** The plan's last line: which shell runs the commands (jobs with another one say so). */
function shellLine(shells: Set<string | undefined>): string {
  const named = [...shells].filter((s) => s !== undefined);
  if (named.length === 0) return 'no shell: each job runs its program directly\n';
  const shell = named.length === 1 ? named[0] : defaultShell();
  return `shell: ${shell} -c${named.length > 1 ? ' (unless shell= says otherwise)' : ''}\n`;
}

/** Jobs known up front and runnable without any stage, and the rest (they wait on one). */
function splitByStages(jobs: JobSpec[], stages: StageSpec[]): [JobSpec[], JobSpec[]] {
  const waiting = new Set(stages.map((s) => s.name));
  for (let grew = true; grew;) {
    grew = false;
    for (const job of jobs) {
      if (!waiting.has(job.name) && job.needs.some((n) => waiting.has(n))) {
        waiting.add(job.name);
        grew = true;
      }
    }
  }
  return [jobs.filter((j) => !waiting.has(j.name)), jobs.filter((j) => waiting.has(j.name))];
}

/**
 * The part of a pipeline known only while it runs: each stage as "items from JOB" with
 * its templates, and the jobs that wait on a stage.
 */
function printStages(
  stages: StageSpec[],
  later: JobSpec[],
  json: boolean,
  out: NodeJS.WritableStream,
): void {
  for (const stage of stages) {
    if (json) {
      out.write(
        JSON.stringify({
          stage: stage.name,
          itemsFrom: stage.from,
          pool: stage.settings.pool ?? null,
          priority: stage.settings.priority,
          needs: stage.needs,
          command: stage.run,
          cwd: stage.settings.cwd,
        }) + '\n',
      );
      continue;
    }
    const meta = [
      stage.settings.pool ? `pool=${stage.settings.pool}` : '',
      stage.settings.priority ? `priority=${stage.settings.priority}` : '',
      stage.needs.length ? `needs=${stage.needs.join(',')}` : '',
    ].filter(Boolean);
    out.write(
      `then: ${stage.name}  (items from ${stage.from}${meta.length ? ` ${meta.join(' ')}` : ''})\n    ${stage.run}\n`,
    );
  }
  for (const job of later) {
    if (json) {
      out.write(JSON.stringify({ after: job.name, needs: job.needs, command: job.command }) + '\n');
      continue;
    }
    out.write(`then: ${job.name}  (needs=${job.needs.join(',')})\n    ${job.command}\n`);
  }
}
