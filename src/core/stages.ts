import { unranRecord, type JobRecord } from '../model/events.js';
import {
  endedWell,
  jobId,
  type JobSpec,
  type StageJob,
  type StagePlan,
  type StageSpec,
} from '../model/job.js';
import { resultItems } from '../model/result.js';
import { newEntry, type Entry } from './entry.js';
import type { Needs } from './needs.js';
import type { Results } from './results.js';

/** What expanding a stage does with the scheduler's help. */
export interface StageHooks {
  /** A job entered the run (it is counted). */
  added(): void;
  /** A stage's pending entry left the run: its jobs stand for it now. */
  withdrawn(): void;
  /** Admits an expanded job (linked by name); it may end at once. */
  admit(entry: Entry): void;
  /** Ends a job that will not run. */
  end(entry: Entry, record: JobRecord): void;
  /** A job whose needs all succeeded: queue it, or expand it if it is a stage. */
  ready(entry: Entry): void;
}

/**
 * A pipeline's deferred work as pending entries. Each stage is one pending entry under
 * its name template, needing its source (a job, or a stage) and its needs; a job that
 * needs a stage needs that entry. So whatever stops the run finds the stage and what
 * waits on it among the pending jobs, and cancels or skips them with a reason, as any
 * other job: no job of the plan is left without a final record.
 *
 * When a stage's needs all succeeded it expands: its items are its source's results,
 * its jobs enter the run (each needing the source job its item came from), and the
 * jobs that waited on the stage now wait on those jobs, their `needs` naming them.
 *
 * Jobs known only once a stage expanded are numbered after the ones known up front,
 * so the report lists a pipeline in the order its stages ran: a job waiting on a stage
 * (directly or through another such job) gets its number once nothing it needs is
 * still deferred, or as it ends.
 */
export class Stages {
  private readonly pending = new Map<Entry, StageSpec>();
  /** Stages that expanded: their entries left the run. */
  private readonly gone = new WeakSet<Entry>();
  /** Held entries: how many of their needs are still deferred. */
  private readonly holds = new Map<Entry, number>();
  /** An expanded stage's name stands for its jobs' names. */
  private readonly members = new Map<string, string[]>();
  private readonly jobNames: ReadonlySet<string>;
  private nextIndex: number;

  constructor(
    private readonly plan: StagePlan,
    private readonly needs: Needs,
    private readonly hooks: StageHooks,
    private readonly results: Results,
    jobs: readonly JobSpec[],
  ) {
    this.nextIndex = jobs.reduce((n, j) => Math.max(n, j.index + 1), 0);
    this.jobNames = new Set(jobs.map((j) => j.name));
    for (const [name, members] of plan.expanded ?? []) this.members.set(name, [...members]);
    for (const stage of plan.stages) this.resolve([stage.from]).forEach((n) => results.watch(n));
  }

  /** One pending job per stage, to enter the run with the plan's jobs. */
  specs(): JobSpec[] {
    const names = new Set(this.plan.stages.map((s) => s.name));
    return this.plan.stages.map((stage) => ({
      ...stage.settings,
      name: stage.name,
      command: stage.run,
      stage: stage.name,
      index: -1,
      // needs with an item's placeholders are known per job, on expansion
      needs: [
        ...new Set(this.resolve([stage.from, ...stage.needs.filter((n) => this.linked(n, names))])),
      ],
    }));
  }

  /** Call once the run's first entries are linked: finds the stages and what waits on them. */
  adopt(entries: readonly Entry[]): void {
    const byName = new Map(this.plan.stages.map((s) => [s.name, s]));
    for (const entry of entries) {
      const stage = byName.get(entry.spec.name);
      if (stage && entry.spec.index === -1) this.pending.set(entry, stage);
    }
    const held = new Map<Entry, boolean>();
    const isHeld = (entry: Entry, path: Set<Entry>): boolean => {
      if (this.pending.has(entry)) return true;
      const known = held.get(entry);
      if (known !== undefined) return known;
      if (path.has(entry)) return false; // a cycle is the linker's to report
      path.add(entry);
      let count = 0;
      for (const need of entry.spec.needs) {
        const dep = this.needs.get(need);
        if (dep && isHeld(dep, path)) count++;
      }
      if (count > 0) this.holds.set(entry, count);
      held.set(entry, count > 0);
      return count > 0;
    };
    for (const entry of entries) isHeld(entry, new Set());
  }

  isStage(entry: Entry): boolean {
    return this.pending.has(entry);
  }

  /**
   * A job is ending with `record`: returns the record to emit, numbered when the job
   * was deferred.
   */
  ending(entry: Entry, record: JobRecord): JobRecord {
    if (!this.pending.has(entry) && !this.holds.has(entry)) return record;
    this.pending.delete(entry);
    this.holds.delete(entry);
    this.number(entry);
    this.release(entry);
    return { ...record, id: entry.id, index: entry.spec.index };
  }

  /** Expands a stage whose needs all succeeded (see the class comment). */
  expand(stage: Entry, now: number): void {
    const spec = this.pending.get(stage);
    if (!spec) return;
    const items: string[] = [];
    const itemSources: string[] = [];
    for (const source of this.members.get(spec.from) ?? [spec.from]) {
      const record = this.results.get(source);
      const got = record && endedWell(record.status) ? resultItems(record.result) : undefined;
      if (got === undefined) {
        const why = `the result of "${source}" is not a list of items (capture lines, or a JSON array)`;
        this.hooks.end(stage, unranRecord(stage.spec, 'skipped', why, now));
        return;
      }
      items.push(...got);
      itemSources.push(...got.map(() => source));
    }
    const known = { members: this.members, exists: (name: string) => !!this.needs.get(name) };
    const entries = stageJobs(this.plan, spec, items, itemSources, known).map((job) => {
      this.hooks.added();
      return newEntry({ ...job, index: this.nextIndex++ });
    });
    const names = entries.map((e) => e.spec.name);
    this.members.set(spec.name, names);
    if (this.results.watched(spec.name)) names.forEach((n) => this.results.watch(n));
    // the jobs waiting on the stage wait on its jobs now
    const waiting = stage.dependents.filter((d) => d.status === 'pending');
    for (const dependent of waiting) {
      const needs = dependent.spec.needs.flatMap((n) => (n === spec.name ? names : [n]));
      dependent.spec = { ...dependent.spec, needs: [...new Set(needs)] };
      dependent.waiting += entries.length - 1;
      for (const entry of entries) entry.dependents.push(dependent);
    }
    this.pending.delete(stage);
    this.gone.add(stage);
    this.needs.forget(stage);
    this.release(stage);
    stage.dependents = [];
    this.hooks.withdrawn();
    for (const entry of entries) this.hooks.admit(entry);
    if (entries.length > 0) return; // the waiting jobs are released as the stage's jobs end
    for (const dependent of waiting) {
      // a stage among them may have expanded meanwhile, through another of its needs
      const left = dependent.status !== 'pending' || this.gone.has(dependent);
      if (!left && dependent.waiting === 0) this.hooks.ready(dependent);
    }
  }

  /** Stage names stand for their jobs. */
  resolve(needs: readonly string[]): string[] {
    return needs.flatMap((n) => this.members.get(n) ?? [n]);
  }

  /** Needs linked before expansion: a job's or a stage's name (others name one item's job). */
  private linked(need: string, stageNames: ReadonlySet<string>): boolean {
    return stageNames.has(need) || this.jobNames.has(need) || this.members.has(need);
  }

  private number(entry: Entry): void {
    entry.spec = { ...entry.spec, index: this.nextIndex++ };
    entry.id = jobId(entry.spec);
  }

  /** `entry` is no longer deferred: the jobs it held may be numbered now. */
  private release(entry: Entry): void {
    for (const dependent of entry.dependents) {
      const left = this.holds.get(dependent);
      if (left === undefined) continue;
      if (left > 1) {
        this.holds.set(dependent, left - 1);
        continue;
      }
      this.holds.delete(dependent);
      this.number(dependent);
      this.release(dependent);
    }
  }
}

/** What a stage's jobs are named and linked against: the run's jobs so far. */
export interface KnownJobs {
  /** An expanded stage's name stands for its jobs' names. */
  members: ReadonlyMap<string, string[]>;
  /** A job of this name is in the run already. */
  exists(name: string): boolean;
}

/**
 * The jobs of `spec` for `items` (item i came from the job `itemSources[i]`), before the
 * run numbers them: each needs the jobs its items came from, and the stage's needs with
 * a stage's name template standing for all of its jobs (known by then: this stage waited
 * for it), other templates naming the item's job. Two equal items would give two jobs
 * one name: the later one is numbered (`name#2`). `jobrun explain` makes them as a run does.
 */
export function stageJobs(
  plan: StagePlan,
  spec: StageSpec,
  items: string[],
  itemSources: string[],
  known: KnownJobs,
): StageJob[] {
  const per = spec.batch ?? 1;
  const taken = new Set<string>();
  const members = (names: string[]) => names.flatMap((n) => known.members.get(n) ?? [n]);
  return plan.expand(spec, items).map((job, i) => {
    const sources = itemSources.slice(i * per, (i + 1) * per);
    let name = job.name;
    if (taken.has(name) || known.exists(name)) name = `${name}#${i + 1}`;
    taken.add(name);
    const own = spec.needs.map((raw, k) => (known.members.has(raw) ? raw : (job.needs[k] ?? raw)));
    const needs = [...new Set([...sources, ...members(own)])];
    return { ...job, name, stage: spec.name, needs };
  });
}
