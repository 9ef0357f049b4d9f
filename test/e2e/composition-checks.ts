import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { countsAsFailure } from '../../src/model/events.js';
import { STOP_EXIT_CODES, type StopSignal } from '../../src/model/stop.js';
import { CANCELLED_BY_USER, DRAINED } from '../../src/core/steering.js';
import type { Report, ReportAttempt, ReportJob } from '../../src/reporters/report.js';
import { parseJunit, schemaErrors, testcases } from '../junit/check.js';
import {
  HANG_TIMEOUT_MS,
  expectedStates,
  nodeName,
  nodeOf,
  type Scenario,
} from './composition-plan.js';
import {
  allMarkerFiles,
  eventually,
  liveInGroups,
  readMarkers,
  type Exit,
  type Marker,
} from './composition-run.js';

const FINAL = ['succeeded', 'failed', 'timed_out', 'skipped', 'cancelled'];

/** A run's outputs as read back: the report file, the `--json` document and the markers. */
export interface RunFacts {
  run: number;
  exit: Exit;
  report: Report;
  markers: Marker[];
  /**
   * The markers span runs of one Redis run (a coordinator killed, then `--resume`):
   * a job read back from Redis reports only its last attempt, one whose success the
   * journal held none (README).
   */
  readBack?: boolean;
}

/** The report of `--report`, which must equal `--json`'s, plus the JUnit file checked against its schema. */
export async function readFacts(dir: string, run: number, exit: Exit): Promise<RunFacts> {
  const file = path.join(dir, `report-${run}.json`);
  expect(
    fs.existsSync(file),
    `no report file (exit ${exit.code ?? exit.signal})\n${exit.stderr}`,
  ).toBe(true);
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as Report;
  expect(JSON.parse(exit.stdout), '--json and --report differ').toEqual(report);
  const xml = fs.readFileSync(path.join(dir, `junit-${run}.xml`), 'utf8');
  expect(await schemaErrors(xml)).toEqual([]);
  expect(testcases(await parseJunit(xml)).size).toBe(report.jobs.length);
  return { run, exit, report, markers: [...readMarkers(dir, run).values()] };
}

/** The process's exit as the report must tell it: 128+n after a signal jobrun re-raised. */
function processExitCode(exit: Exit): number | null {
  if (exit.signal === null) return exit.code;
  const code = STOP_EXIT_CODES[exit.signal as StopSignal] as number | undefined;
  return code ?? null;
}

/**
 * What holds for any run that ended by itself (normally, halted, or by a signal):
 * one final record per job of the plan, the exit code that follows from them, and
 * markers that agree with the records.
 */
export function checkRecords(
  s: Scenario,
  facts: RunFacts,
  stopped: boolean,
  slots = s.workers,
  local = true,
): void {
  const { report, exit } = facts;
  const jobs = report.jobs;
  const byName = new Map(jobs.map((j) => [j.name, j]));
  expect(byName.size, 'a name reported twice').toBe(jobs.length);
  expect(new Set(jobs.map((j) => j.id)).size, 'an id reported twice').toBe(jobs.length);
  for (const j of jobs) expect(FINAL, `${j.name}: ${j.status}`).toContain(j.status);
  checkPlan(s, byName);
  // the counts, the exit code and its reasons follow from the records
  const count = (status: string) => jobs.filter((j) => j.status === status).length;
  expect(report.summary).toMatchObject({
    total: jobs.length,
    succeeded: count('succeeded'),
    failed: count('failed'),
    skipped: count('skipped'),
    cancelled: count('cancelled'),
  });
  expect(processExitCode(exit), `process exit vs report\n${exit.stderr}`).toBe(report.exitCode);
  const interrupted = report.interrupted as StopSignal | undefined;
  const expected = interrupted ? STOP_EXIT_CODES[interrupted] : jobs.some(countsAsFailure) ? 1 : 0;
  expect(report.exitCode).toBe(expected);
  // a job its operator called off (`jobrun drain`, `jobrun cancel`) does not fail the
  // run: its exit code is that of the jobs that ran (README)
  const calledOff = (j: ReportJob) =>
    j.status === 'cancelled' && [DRAINED, CANCELLED_BY_USER].includes(j.reason ?? '');
  if (report.exitCode === 0)
    for (const j of jobs)
      expect(j.status === 'succeeded' || j.allowFailure || calledOff(j), j.name).toBe(true);
  if (!stopped) {
    expect(report.interrupted).toBeUndefined();
    expect(report.halted).toBeUndefined();
    const states = new Map(jobs.map((j) => [j.name, j.status as string]));
    expect(states, 'final states of a run to its end').toEqual(expectedStates(s));
  }
  checkAttempts(s, facts, byName, stopped);
  checkSucceededBeforeTheStop(facts, byName);
  checkSteered(s, facts, byName);
  checkNeeds(facts, byName);
  checkPools(s, facts, slots, byName);
  if (local) checkSlots(s, facts, slots, byName);
  checkFanIn(s, facts, byName);
}

/** Each job of the plan once: jobs by name, each stage expanded from its sources' results or once under its template. */
function checkPlan(s: Scenario, byName: Map<string, ReportJob>): void {
  const planned = new Set<string>();
  const jobsOf: string[][] = [];
  s.nodes.forEach((n, i) => {
    const name = nodeName(s, i);
    if (!n.stage) {
      expect(byName.has(name), `${name} has no record`).toBe(true);
      jobsOf[i] = [name];
    } else {
      const template = byName.get(name);
      const members = [...byName.values()].filter((j) => j.stage === name && j.name !== name);
      if (template) {
        expect(
          members.map((j) => j.name),
          `${name} both expanded and not`,
        ).toEqual([]);
        expect(['skipped', 'cancelled']).toContain(template.status);
        expect(template.attempts).toEqual([]);
        expect(template.reason).toBeTruthy();
      }
      const items = (jobsOf[n.from] ?? []).flatMap((src) => {
        const r = byName.get(src)?.result;
        return Array.isArray(r) ? r.map(String) : [];
      });
      for (const m of members)
        expect(
          items.map((it) => `s${i}-${it}`),
          `${m.name}: no source item`,
        ).toContain(m.name);
      jobsOf[i] = template ? [name] : members.map((m) => m.name);
    }
    for (const j of jobsOf[i] ?? []) planned.add(j);
  });
  if (s.fanIn !== null) planned.add('fan');
  expect(
    [...byName.keys()].filter((n) => !planned.has(n)),
    'records of no job',
  ).toEqual([]);
}

function markersOf(facts: RunFacts, name: string): Marker[] {
  return facts.markers.filter((m) => m.name === name).sort((a, b) => a.attempt - b.attempt);
}

/** The markers of the attempts the report can show: with `readBack`, from its first reported one on. */
function shownMarkers(facts: RunFacts, j: ReportJob): Marker[] {
  const ran = markersOf(facts, j.name);
  if (!facts.readBack) return ran;
  const first = j.attempts[0]?.attempt;
  return first === undefined ? [] : ran.filter((m) => m.attempt >= first);
}

/** Attempts within retries+1; every attempt that ran is in the report, and ended as the report says. */
function checkAttempts(
  s: Scenario,
  facts: RunFacts,
  byName: Map<string, ReportJob>,
  stopped: boolean,
): void {
  for (const m of facts.markers) {
    expect(byName.has(m.name), `${m.name} ran but has no record`).toBe(true);
    expect(Number.isNaN(m.start), `${m.name}.${m.attempt}: an end without a start`).toBe(false);
  }
  for (const j of byName.values()) {
    const node = nodeOf(s, j.name);
    const ran = shownMarkers(facts, j);
    const lastAttempt = j.attempts.at(-1)?.attempt ?? 0;
    expect(j.attempts.length, `${j.name}: attempts`).toBeLessThanOrEqual(node.retries + 1);
    expect(ran.length, `${j.name}: ran more often than reported`).toBeLessThanOrEqual(
      j.attempts.length,
    );
    if (j.status === 'skipped')
      expect(markersOf(facts, j.name), `${j.name} was skipped but ran`).toEqual([]);
    if (j.status === 'succeeded' && j.attempts.length > 0) {
      expect(lastAttempt, `${j.name} succeeded too early`).toBeGreaterThan(node.failFirst);
      const last = ran.at(-1);
      if (last) expect(last.end?.code, `${j.name}: succeeded without exit 0`).toBe(0);
    }
    for (const a of j.attempts) {
      const end = ran.find((m) => m.attempt === a.attempt)?.end;
      if (end && !a.timedOut && j.status !== 'cancelled')
        expect(a.exitCode, `${j.name}.${a.attempt}: exit code vs its marker`).toBe(end.code);
      if (a.timedOut) expect(node.hang, `${j.name}.${a.attempt} timed out`).toBe(true);
    }
    if (j.status === 'timed_out') {
      expect(node.hang, `${j.name} timed out but never hangs`).toBe(true);
      expect(ran.at(-1)?.end, `${j.name} timed out after it ended`).toBeUndefined();
    }
    if (!stopped && j.attempts.length > 0) {
      expect(ran.length, `${j.name}: markers vs attempts`).toBe(j.attempts.length);
      expect(lastAttempt, `${j.name}: its last attempt`).toBe(
        Math.min(node.failFirst, node.retries) + 1,
      );
    }
  }
}

/** How long before the stop an attempt's exit 0 surely reached jobrun first. */
const WELL_BEFORE_MS = 1000;

/**
 * "A job that had exited 0 before the stop reached it is `succeeded`, not `cancelled`"
 * (README). The stop came no earlier than the test's signal, or than the first attempt
 * that failed (what a halt or --fail-fast judges): an exit 0 well before that is no
 * cancelled job's.
 */
function checkSucceededBeforeTheStop(facts: RunFacts, byName: Map<string, ReportJob>): void {
  const failedAt = facts.markers.flatMap((m) => (m.end && m.end.code !== 0 ? [m.end.at] : []));
  for (const j of byName.values())
    for (const a of j.attempts) if (a.timedOut) failedAt.push(attemptEnd(a));
  const stopAt = facts.exit.signalledAt ?? Math.min(Infinity, ...failedAt);
  for (const j of byName.values()) {
    if (j.status !== 'cancelled') continue;
    for (const m of markersOf(facts, j.name))
      if (m.end?.code === 0)
        expect(
          m.end.at,
          `${j.name}.${m.attempt} exited 0 ${stopAt - m.end.at} ms before the stop, yet is cancelled`,
        ).toBeGreaterThan(stopAt - WELL_BEFORE_MS);
  }
}

/**
 * Stops, as the README says: `jobrun drain`, `--fail-fast`, `--halt soon` and a
 * `--graceful` signal told once let running jobs finish (every attempt ended by itself
 * or by its timeout), `jobrun drain` cancels the rest as `drained`; `jobrun cancel JOB`
 * cancels that job alone, which is not retried once the command returned. A halt is
 * the halt policy's doing, after a failure that counts: exit 1. While `jobrun pause`
 * (of the run or pool b) or a scale of pool b to 0 holds, no job it holds starts.
 */
function checkSteered(s: Scenario, facts: RunFacts, byName: Map<string, ReportJob>): void {
  const e = s.ending;
  const gentle =
    e.kind === 'drain' ||
    e.kind === 'fail-fast' ||
    (e.kind === 'halt' && e.policy.startsWith('soon')) ||
    (e.kind === 'signal' && e.graceful && !e.graceful.twice);
  if (gentle)
    for (const j of byName.values())
      for (const a of j.attempts) {
        const m = markersOf(facts, j.name).find((x) => x.attempt === a.attempt);
        expect(
          m?.end !== undefined || a.timedOut,
          `${j.name}.${a.attempt} was stopped by a stop that lets running jobs finish`,
        ).toBe(true);
      }
  if (facts.report.halted !== undefined) {
    expect(['halt', 'fail-fast'], `halted by ${facts.report.halted}`).toContain(e.kind);
    expect(facts.report.exitCode, 'exit code of a halt').toBe(1);
    expect([...byName.values()].some(countsAsFailure), 'halted with no failure').toBe(true);
  }
  const steered = facts.exit.steered;
  const obeyed = steered?.reply.startsWith('{"ok":true') === true;
  if (e.kind === 'drain' && obeyed)
    for (const j of byName.values())
      if (j.status === 'cancelled') expect(j.reason, j.name).toBe('drained');
  const held = facts.exit.held;
  if (e.kind === 'steer' && held?.replies[0]?.startsWith('{"ok":true') === true)
    for (const m of facts.markers) {
      if (e.action !== 'pause' && nodeOf(s, m.name).pool !== 'b') continue;
      // a job started just before the hold may write its marker a moment later
      const during = m.start > held.from + HELD_SLACK_MS && m.start < held.to;
      expect(during, `${m.name}.${m.attempt} started while ${e.action} held it`).toBe(false);
    }
  if (e.kind === 'cancel') {
    const target = obeyed ? steered?.job : undefined;
    for (const j of byName.values())
      if (j.status === 'cancelled')
        expect(j.name, `${j.name} cancelled, not ${target}`).toBe(target);
    for (const m of markersOf(facts, target ?? ''))
      expect(m.start, `${m.name}.${m.attempt} started after jobrun cancel`).toBeLessThanOrEqual(
        steered?.doneAt ?? 0,
      );
  }
}

/** A job starts only after everything it needs succeeded (and, in this run, ended). */
function checkNeeds(facts: RunFacts, byName: Map<string, ReportJob>): void {
  for (const m of facts.markers) {
    for (const need of byName.get(m.name)?.needs ?? []) {
      const status = byName.get(need)?.status;
      expect(status, `${m.name} ran although its need ${need} is ${status}`).toBe('succeeded');
      const ok = markersOf(facts, need).find((x) => x.end?.code === 0);
      if (ok?.end)
        expect(ok.end.at, `${m.name} started before ${need} ended`).toBeLessThanOrEqual(m.start);
    }
  }
}

/** How late after a pause a job started before it may write its start marker, loaded machine included. */
const HELD_SLACK_MS = 1000;

/** Most of the time a job's shell takes to write its start marker, loaded machine included. */
const SHELL_START_MS = 200;

/** When jobrun saw an attempt end (ms since the epoch). */
const attemptEnd = (a: ReportAttempt) => Date.parse(a.startedAt) + a.durationMs;

/**
 * When an attempt ended: by its marker, else as jobrun saw it end, else (unreported)
 * never; with `readBack`, an earlier attempt the report leaves out hung until its
 * timeout, counted from its start marker less what its shell took to write it (no
 * earlier: what overlaps it surely ran beside it).
 */
const markerEnd = (s: Scenario, facts: RunFacts, byName: Map<string, ReportJob>) => (m: Marker) => {
  const a = byName.get(m.name)?.attempts.find((x) => x.attempt === m.attempt);
  const hung =
    facts.readBack && nodeOf(s, m.name).hang
      ? m.start + HANG_TIMEOUT_MS - SHELL_START_MS
      : undefined;
  return m.end?.at ?? (a ? attemptEnd(a) : (hung ?? Infinity));
};

/**
 * At no moment more attempts running than the workers, or a pool's limit, by the
 * markers; an attempt with no end marker was stopped (by a timeout or the run's
 * stop), so it ended as jobrun saw it end, or, unreported, never.
 */
function checkPools(
  s: Scenario,
  facts: RunFacts,
  slots: number,
  byName: Map<string, ReportJob>,
): void {
  const endOf = markerEnd(s, facts, byName);
  const limits: Array<[string, number, (m: Marker) => boolean]> = [
    ['workers', slots, () => true],
    ['pool a', 1, (m) => nodeOf(s, m.name).pool === 'a'],
    ['pool b', 2, (m) => nodeOf(s, m.name).pool === 'b'],
  ];
  for (const [what, limit, member] of limits) {
    const edges = facts.markers
      .filter(member)
      .flatMap((m) => [
        { at: m.start, d: 1, m },
        { at: endOf(m), d: -1, m },
      ])
      .sort((a, b) => a.at - b.at || a.d - b.d);
    let running = 0;
    for (const e of edges) {
      running += e.d;
      expect(
        running,
        `${what}: ${e.m.name}.${e.m.attempt} started beyond ${limit}`,
      ).toBeLessThanOrEqual(limit);
    }
  }
}

/** `JOBRUN_SLOT` is 1..N, reused only as slots free (README); a Redis worker has its own. */
function checkSlots(
  s: Scenario,
  facts: RunFacts,
  slots: number,
  byName: Map<string, ReportJob>,
): void {
  const endOf = markerEnd(s, facts, byName);
  const bySlot = new Map<number, Marker[]>();
  for (const m of facts.markers) {
    expect(m.slot, `${m.name}.${m.attempt}'s JOBRUN_SLOT`).toBeGreaterThanOrEqual(1);
    expect(m.slot, `${m.name}.${m.attempt}'s JOBRUN_SLOT`).toBeLessThanOrEqual(slots);
    bySlot.set(m.slot, [...(bySlot.get(m.slot) ?? []), m]);
  }
  for (const [slot, ms] of bySlot) {
    const sorted = ms.sort((a, b) => a.start - b.start);
    sorted.slice(1).forEach((m, k) => {
      const prev = sorted[k] as Marker;
      expect(
        endOf(prev),
        `slot ${slot}: ${m.name}.${m.attempt} started while ${prev.name}.${prev.attempt} ran`,
      ).toBeLessThanOrEqual(m.start);
    });
  }
}

/** The fan-in job read one line per source job, with that job's result. */
function checkFanIn(s: Scenario, facts: RunFacts, byName: Map<string, ReportJob>): void {
  if (s.fanIn === null) return;
  const source = nodeName(s, s.fanIn);
  const sources = [...byName.values()].filter((j) =>
    s.nodes[s.fanIn ?? 0]?.stage ? j.stage === source && j.name !== source : j.name === source,
  );
  for (const m of markersOf(facts, 'fan')) {
    if (m.stdin === undefined) continue; // stopped before it read its input
    const lines = m.stdin
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { name: string; result: unknown });
    expect(lines).toEqual(sources.map((j) => ({ name: j.name, result: j.result })));
  }
}

/**
 * After jobrun exited nothing of the run goes on: no marker is written, and no process
 * is left in a job's group or in jobrun's own (its spawners).
 */
export async function checkNothingAfter(
  dir: string,
  runs: Array<Pick<RunFacts, 'exit' | 'markers'>>,
  last: Exit,
): Promise<void> {
  await new Promise((r) => setTimeout(r, 400));
  expect(allMarkerFiles(dir), 'a marker written after jobrun exited').toEqual(last.filesAtExit);
  const groups = new Set<number>([last.pid]);
  for (const f of runs) {
    groups.add(f.exit.pid);
    for (const m of f.markers) if (!Number.isNaN(m.group)) groups.add(m.group);
  }
  const clean = await eventually(() => liveInGroups(groups).length === 0, 3000);
  expect(clean ? [] : liveInGroups(groups), 'processes left behind').toEqual([]);
}

/** Names of the jobs whose success the journal holds (what `--resume` must not run again). */
export function journaledSuccesses(dir: string): Set<string> {
  const journals = path.join(dir, '.jobrun/journal');
  const names = new Set<string>();
  if (!fs.existsSync(journals)) return names;
  for (const f of fs.readdirSync(journals).filter((x) => x.endsWith('.ndjson')))
    for (const line of fs.readFileSync(path.join(journals, f), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const rec = JSON.parse(line) as { name?: string; status?: string };
        if (rec.status === 'succeeded' && rec.name) names.add(rec.name);
      } catch {
        // a line cut by kill -9: the journal reader skips it too
      }
    }
  return names;
}
