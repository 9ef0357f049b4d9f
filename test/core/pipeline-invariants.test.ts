import fc from 'fast-check';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Scheduler } from '../../src/core/scheduler.js';
import type { ExecRequest, Executor } from '../../src/exec/types.js';
import { stagePlan } from '../../src/manifest/stages.js';
import { attemptSucceeded, type AttemptResult } from '../../src/model/attempt.js';
import { countsAsFailure } from '../../src/model/events.js';
import type { JobSpec, StageSpec } from '../../src/model/job.js';
import { STOP_EXIT_CODES } from '../../src/model/stop.js';
import { EventLog, job, propertyOptions } from './harness.js';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** One node of a random pipeline: a job, or a stage fed by an earlier node. */
interface Node {
  stage: boolean;
  /** For a stage: which earlier node feeds it. */
  from: number;
  /** Earlier nodes it needs. */
  needBits: boolean[];
  retries: number;
  pool: boolean;
  allowFailure: boolean;
  /** How many items each of its jobs' results gives; -1: a result that is no list. */
  items: number;
  /** How many first attempts of each of its jobs fail (by the job's position in the stage). */
  failures: number[];
  ms: number;
}

const nodeArb = fc.record({
  stage: fc.boolean(),
  from: fc.nat(),
  needBits: fc.array(fc.boolean(), { maxLength: 6 }),
  retries: fc.integer({ min: 0, max: 2 }),
  pool: fc.boolean(),
  allowFailure: fc.boolean(),
  items: fc.constantFrom(-1, 0, 1, 2, 2, 3),
  failures: fc.array(fc.constantFrom(0, 0, 0, 1, 3), { maxLength: 4 }),
  ms: fc.integer({ min: 1, max: 200 }),
});

/** Node 0 is always a job: a stage needs an earlier node to feed it. */
const isStage = (nodes: Node[], i: number) => i > 0 && nodes[i]!.stage;
const nameOf = (nodes: Node[], i: number) => (isStage(nodes, i) ? `s${i}-{item}` : `j${i}`);

/** The plan: node 0 is always a job; needs and sources point backwards, so it is acyclic. */
function buildPlan(nodes: Node[]): { jobs: JobSpec[]; stages: StageSpec[] } {
  const jobs: JobSpec[] = [];
  const stages: StageSpec[] = [];
  nodes.forEach((node, i) => {
    const needs = node.needBits.flatMap((b, k) => (b && k < i ? [nameOf(nodes, k)] : []));
    const settings = {
      ...job('x', {
        retries: node.retries,
        pool: node.pool ? 'p' : undefined,
        allowFailure: node.allowFailure,
        backoff: { delayMs: 30, factor: 2, maxMs: 100, jitter: false },
      }),
    };
    if (isStage(nodes, i)) {
      const { name: _n, command: _c, index: _i, needs: _d, ...rest } = settings;
      const from = nameOf(nodes, node.from % i);
      stages.push({ name: nameOf(nodes, i), run: 'run {item}', from, needs, settings: rest });
    } else {
      jobs.push({
        ...settings,
        name: nameOf(nodes, i),
        command: `run j${i}`,
        index: jobs.length,
        needs,
      });
    }
  });
  return { jobs, stages };
}

/** Attempts follow the node of the job (a stage's job: `s3-…`), in fake time. */
class PipelineExecutor implements Executor {
  running = 0;
  constructor(private readonly nodes: Node[]) {}

  start(req: ExecRequest) {
    const node = this.nodes[Number(/^[js](\d+)/.exec(req.job.name)?.[1])]!;
    const position = Number(/#?(\d+)$/.exec(req.job.name)?.[1] ?? 0);
    const failing = node.failures[position % Math.max(1, node.failures.length)] ?? 0;
    const ok = req.attempt > failing;
    const items =
      node.items < 0
        ? { not: 'a list' }
        : [...Array(node.items).keys()].map(
            (k) => `${req.job.name.replace(/[^a-z0-9]/g, '')}.${k}`,
          );
    this.running++;
    const startedAt = Date.now();
    let settle!: (r: AttemptResult) => void;
    const result = new Promise<AttemptResult>((resolve) => (settle = resolve));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (extra: Partial<AttemptResult>) => {
      if (!timer) return;
      clearTimeout(timer);
      timer = undefined;
      this.running--;
      const base = { attempt: req.attempt, startedAt, durationMs: Date.now() - startedAt };
      settle({ ...base, timedOut: false, worker: req.worker, ...extra });
    };
    timer = setTimeout(
      () => finish(ok ? { exitCode: 0, result: items } : { exitCode: 1 }),
      node.ms,
    );
    return { result, pid: 1, stop: () => finish({ signal: 'SIGTERM', stopped: true }) };
  }
}

/** Runs one pipeline to its end under a stop, and checks the invariants on its events. */
async function check(
  nodes: Node[],
  workers: number,
  halt: string | undefined,
  stopAt: number | null,
  how: 'interrupt' | 'abort',
): Promise<void> {
  const { jobs, stages } = buildPlan(nodes);
  const log = new EventLog();
  const executor = new PipelineExecutor(nodes);
  const scheduler = new Scheduler({
    ...propertyOptions(log, executor, workers, halt),
    stages: stagePlan(stages),
  });
  const done = scheduler.run(jobs);
  let settled = false;
  let aborted = false;
  void done.then(() => (settled = true));
  for (let t = 0; t < 20_000 && !settled; t += 25) {
    if (stopAt !== null && t === Math.floor(stopAt / 25) * 25) {
      if (how === 'interrupt') scheduler.interrupt('SIGTERM');
      else {
        scheduler.abort('stopped: a reporter failed (test)');
        aborted = true;
      }
    }
    await vi.advanceTimersByTimeAsync(25);
  }
  expect(settled).toBe(true);
  const outcome = await done;
  expect(executor.running).toBe(0);
  expect(log.of('run_end')).toHaveLength(1);
  const records = log.of('job_end').map((e) => e.job);
  // one final record per job
  const ids = records.map((r) => r.id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(new Set(records.map((r) => r.name)).size).toBe(records.length);
  for (const r of records)
    expect(['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled']).toContain(r.status);
  // every job that was queued or started has ended
  const ended = new Set(ids);
  for (const e of [...log.of('job_queued'), ...log.of('job_start')]) expect(ended).toContain(e.id);
  // every job of the plan is there; a stage either expanded or ended under its template
  for (const j of jobs) expect(records.some((r) => r.name === j.name)).toBe(true);
  for (const s of stages) {
    const own = records.filter((r) => r.name === s.name);
    const members = records.filter((r) => r.name.startsWith(s.name.replace('{item}', '')));
    if (own.length > 0) {
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({ attempts: [] });
      expect(['skipped', 'cancelled']).toContain(own[0]!.status);
      expect(own[0]!.reason).toBeTruthy();
      expect(members).toHaveLength(1);
    }
  }
  // nothing that ran to its end is reported cancelled
  for (const r of records.filter((x) => x.status === 'cancelled')) {
    // stopped while it ran, or while it waited to retry a failed attempt
    const last = r.attempts.at(-1);
    if (last) expect(last.stopped === true || !attemptSucceeded(last)).toBe(true);
  }
  // a job never starts before its needs succeeded
  for (const r of records)
    if (r.attempts.length > 0)
      for (const need of r.needs)
        expect(records.find((x) => x.name === need)?.status).toBe('succeeded');
  // the counts and the exit code follow from the records
  const s = outcome.summary;
  expect(s.total).toBe(records.length);
  expect(s.succeeded + s.failed + s.timed_out + s.skipped + s.cancelled).toBe(s.total);
  // an abort while the run went on is jobrun's failure, also when a halt had already
  // cancelled everything it would have (no record then says why it stopped)
  const expected = outcome.interrupted
    ? STOP_EXIT_CODES[outcome.interrupted]
    : aborted
      ? 70
      : records.some(countsAsFailure)
        ? 1
        : 0;
  expect(outcome.exitCode).toBe(expected);
  if (outcome.exitCode === 0)
    for (const r of records) expect(r.status === 'succeeded' || r.allowFailure).toBe(true);
}

/** Every job of the plan, expanded or not, ends once in a final state, whatever stops the run. */
it('accounts for every job of a random pipeline under random stops', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(nodeArb, { minLength: 1, maxLength: 7 }),
      fc.integer({ min: 1, max: 3 }),
      fc.constantFrom(undefined, 'now,fail=1', 'soon,fail=1', 'soon,fail=50%'),
      fc.option(fc.integer({ min: 0, max: 600 })),
      fc.constantFrom('interrupt', 'abort'),
      check,
    ),
    { numRuns: 150 },
  );
}, 60_000);

it('a stage of a stage with no items, needed along two paths, expands once', async () => {
  const node = (stage: boolean, from: number, needBits: boolean[], items = 0): Node => ({
    stage,
    from,
    needBits,
    retries: 0,
    pool: false,
    allowFailure: false,
    items,
    failures: [],
    ms: 5,
  });
  // j0 gives no items → s1-* from j0 → s2-* from s1-* → s3-* from s2-*, needing s1-* too
  const nodes = [
    node(false, 0, []),
    node(true, 0, []),
    node(true, 1, []),
    node(true, 2, [false, true]),
    node(false, 0, [false, true, false, true]),
  ];
  await check(nodes, 2, undefined, null, 'interrupt');
});
