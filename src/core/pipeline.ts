import type { JobRecord } from '../model/events.js';
import type { JobSpec, StagePlan } from '../model/job.js';
import type { Entry } from './entry.js';
import { Results } from './results.js';
import type { SchedulerCore } from './scheduler-core.js';
import { Stages } from './stages.js';

/** What a pipeline asks of the scheduler besides its core. */
export interface PipelineHooks {
  /** Admits a job a stage expanded to (linked by name); it may end at once. */
  admit(entry: Entry): void;
  /** Queues a ready job by priority. */
  enqueue(entry: Entry): void;
}

/**
 * The scheduler's side of a pipeline: its stages (`for_each: { from }`, see `Stages`)
 * and the results that stages and `stdin: { from }` jobs read (`Results`). A run
 * without stages keeps only the results its jobs read.
 */
export class Pipeline {
  private stages: Stages | undefined;
  private readonly results = new Results();

  constructor(
    private readonly core: SchedulerCore,
    private readonly plan: StagePlan | undefined,
    private readonly hooks: PipelineHooks,
  ) {}

  /**
   * The jobs a run of `jobs` admits (with one pending job per stage), and how many jobs
   * it has, when that is known up front (not with stages).
   */
  begin(jobs: JobSpec[]): { specs: JobSpec[]; total: number | null } {
    const stages = this.stagesOf(jobs);
    this.watchInputs(jobs);
    if (!stages) return { specs: jobs, total: jobs.length };
    return { specs: [...jobs, ...stages.specs()], total: null };
  }

  /** The run's first entries are linked: the stages among them are found. */
  adopt(entries: readonly Entry[]): void {
    this.stages?.adopt(entries);
  }

  /** A job whose needs all succeeded: queued, or expanded when it is a stage. */
  ready(entry: Entry): void {
    if (this.stages?.isStage(entry)) this.stages.expand(entry, this.core.clock.now());
    else this.hooks.enqueue(entry);
  }

  /** A `stdin: { from }` job about to queue reads the results it names (a stage: its jobs'). */
  readInput(entry: Entry): void {
    const { stdinFrom } = entry.spec;
    if (!stdinFrom || entry.spec.stdin !== undefined) return;
    const names = this.stages ? this.stages.resolve(stdinFrom) : stdinFrom;
    entry.spec = { ...entry.spec, stdin: this.results.input(names) };
  }

  /** A job is ending with `ended`: the record to emit (numbered if it was deferred), kept if read. */
  ending(entry: Entry, ended: JobRecord): JobRecord {
    const record = this.stages ? this.stages.ending(entry, ended) : ended;
    this.results.ended(record);
    return record;
  }

  /** The pipeline's stages, as pending entries among `jobs` (see `Stages`). */
  private stagesOf(jobs: JobSpec[]): Stages | undefined {
    if (!this.plan?.stages.length) return undefined;
    const { lifecycle } = this.core;
    this.stages = new Stages(
      this.plan,
      this.core.needs,
      {
        added: () => lifecycle.added(),
        withdrawn: () => lifecycle.withdrawn(),
        admit: (entry) => this.hooks.admit(entry),
        end: (entry, record) => this.core.end(entry, record),
        ready: (entry) => this.ready(entry),
      },
      this.results,
      jobs,
    );
    return this.stages;
  }

  /** Keeps the results that `stdin: { from }` jobs (of the plan or of its stages) read. */
  private watchInputs(jobs: JobSpec[]): void {
    const readers = [...jobs, ...(this.plan?.stages.map((s) => s.settings) ?? [])];
    for (const job of readers) job.stdinFrom?.forEach((name) => this.results.watch(name));
  }
}
