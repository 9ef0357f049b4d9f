/**
 * Runs the stages of a pipeline: `for_each: { from: JOB }` jobs are known only once
 * JOB has succeeded and its result (lines, or a JSON array) gives their items.
 *
 * The feeder turns a plan with stages into one stream of jobs for the scheduler's
 * streamed-input seam: first every job that waits on no stage (needs before the
 * jobs that need them), then, as each stage's source job ends, the stage's jobs (each
 * needing the source, its placeholders substituted per item) and the jobs that were
 * waiting for the stage, whose `needs` on the stage's name become its jobs' names.
 * Jobs that only became known then are numbered after the ones known up front, so the
 * report lists a pipeline in the order its stages ran.
 *
 * A stage whose source did not succeed still gives one job, under the stage's name,
 * which the scheduler skips (`need "JOB" failed`), so the report says what did not run.
 */
import type { JobRecord } from '../model/events.js';
import { endedWell, type JobSpec, type Plan, type StageSpec } from '../model/job.js';
import { resultItems } from '../model/result.js';
import { expandJob } from './expand.js';

export class StageFeeder {
  /** Jobs whose results stages read: never taken as done from an earlier run's journal. */
  readonly sources: ReadonlySet<string>;
  private readonly stageNames: Set<string>;
  /** What each expanded stage's name stands for in `needs`: its jobs' names. */
  private readonly expanded = new Map<string, string[]>();
  /** Records of source jobs that ended, until their stage is expanded. */
  private readonly ended = new Map<string, JobRecord>();
  private readonly yielded = new Set<string>();
  private readonly planNames: ReadonlySet<string>;
  private wake: (() => void) | undefined;
  private nextIndex: number;

  constructor(private readonly plan: Plan) {
    const stages = plan.stages ?? [];
    this.sources = new Set(stages.map((s) => s.from));
    this.stageNames = new Set(stages.map((s) => s.name));
    this.planNames = new Set(plan.jobs.map((j) => j.name));
    this.nextIndex = plan.jobs.reduce((n, j) => Math.max(n, j.index + 1), 0);
  }

  /** Call with every job's final record (the run's `job_end` events). */
  jobEnded(record: JobRecord): void {
    if (!this.sources.has(record.name)) return;
    this.ended.set(record.name, record);
    this.wake?.();
  }

  /** Every job of the plan and of its stages, each once it can be linked. */
  async *jobs(): AsyncGenerator<JobSpec> {
    let held = [...this.plan.jobs];
    let stages = [...(this.plan.stages ?? [])];
    let dynamic = false; // jobs held back get new numbers once any stage has expanded
    for (;;) {
      // the jobs whose needs are all known, repeatedly: a job may need one released just now
      for (let released = true; released;) {
        released = false;
        const still: JobSpec[] = [];
        for (const job of held) {
          if (!this.ready(job)) {
            still.push(job);
            continue;
          }
          released = true;
          yield this.release(job, dynamic);
        }
        held = still;
      }
      if (stages.length === 0 && held.length === 0) return;
      const due = stages.find((s) => this.canExpand(s));
      if (!due) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      stages = stages.filter((s) => s !== due);
      dynamic = true;
      for (const job of this.expand(due)) {
        this.yielded.add(job.name);
        yield job;
      }
    }
  }

  /** A job can be linked once every job it needs was handed out and no stage it waits on is pending. */
  private ready(job: JobSpec): boolean {
    return job.needs.every((n) =>
      this.stageNames.has(n) ? this.expanded.has(n) : this.yielded.has(n) || !this.isHeld(n),
    );
  }

  /** Names of plan jobs not handed out yet (other names are unknown to the plan). */
  private isHeld(name: string): boolean {
    return this.planNames.has(name) && !this.yielded.has(name);
  }

  private release(job: JobSpec, renumber: boolean): JobSpec {
    this.yielded.add(job.name);
    const needs = this.resolveNeeds(job.needs);
    const index = renumber ? this.nextIndex++ : job.index;
    return needs === job.needs && index === job.index ? job : { ...job, needs, index };
  }

  private canExpand(stage: StageSpec): boolean {
    if (!this.ended.has(stage.from)) return false;
    return stage.needs.every((n) => !this.stageNames.has(n) || this.expanded.has(n));
  }

  /** Needs naming a stage become its jobs' names. */
  private resolveNeeds(needs: string[]): string[] {
    if (!needs.some((n) => this.stageNames.has(n))) return needs;
    return [...new Set(needs.flatMap((n) => this.expanded.get(n) ?? [n]))];
  }

  /** The stage's jobs, from its source's result; one skipped job when there is none. */
  private expand(stage: StageSpec): JobSpec[] {
    const source = this.ended.get(stage.from);
    this.ended.delete(stage.from);
    const items = source && endedWell(source.status) ? resultItems(source.result) : undefined;
    if (items === undefined) {
      const skipReason =
        source && endedWell(source.status)
          ? `the result of "${stage.from}" is not a list of items (capture lines, or a JSON array)`
          : undefined;
      const placeholder: JobSpec = {
        ...stage.settings,
        name: stage.name,
        command: stage.run,
        index: this.nextIndex++,
        needs: [stage.from],
        ...(skipReason === undefined ? {} : { skipReason }),
      };
      this.expanded.set(stage.name, [stage.name]);
      return [placeholder];
    }
    const taken = new Set(this.yielded);
    const jobs = expandJob(stage, -1, stage.settings, items).map((job, i): JobSpec => ({
      // two equal items would give two jobs one name: the later one is numbered
      name: unique(job.name, i, taken),
      command: job.command,
      index: this.nextIndex++,
      ...job.settings,
      needs: [...new Set([stage.from, ...this.resolveNeeds(job.needs)])],
    }));
    this.expanded.set(
      stage.name,
      jobs.map((j) => j.name),
    );
    return jobs;
  }
}

function unique(name: string, i: number, taken: Set<string>): string {
  const free = taken.has(name) ? `${name}#${i + 1}` : name;
  taken.add(free);
  return free;
}
