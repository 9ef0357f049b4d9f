import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { ReportJob } from '../../src/reporters/report.js';
import type { RunFacts } from './composition-checks.js';
import { failLine, itemsOf, nodeOf, type Scenario } from './composition-plan.js';

/**
 * What a run leaves beside its report: each attempt's log, the output it showed, and
 * the journal `--resume` reads. Local runs only (a Redis run's logs and journal live
 * with its workers and coordinator in other ways).
 */

/** The lines an attempt that ran to its end wrote: its items, or its fail line. */
function expectedLines(s: Scenario, job: ReportJob, attempt: number, code: number): string[] {
  return code === 0 ? itemsOf(job.name, nodeOf(s, job.name).items) : [failLine(job.name, attempt)];
}

const linesOf = (text: string) => text.split('\n').filter(Boolean);

/** Every line in the logs of the run's attempts, each once per attempt that wrote it. */
function loggedLines(facts: RunFacts): string[] {
  return facts.report.jobs.flatMap((j) =>
    j.attempts.flatMap((a) =>
      a.log && fs.existsSync(a.log) ? linesOf(fs.readFileSync(a.log, 'utf8')) : [],
    ),
  );
}

/**
 * Every attempt's log is its own: no two attempts share a file, a log holds only what
 * that attempt wrote (a job's items carry its name, a failure its name and attempt),
 * and an attempt that ran to its end has all it wrote there (no log: it wrote nothing).
 */
export function checkLogs(s: Scenario, facts: RunFacts): void {
  const logs = facts.report.jobs.flatMap((j) => j.attempts.flatMap((a) => a.log ?? []));
  expect(logs.length - new Set(logs).size, 'two attempts share a log').toBe(0);
  for (const j of facts.report.jobs)
    for (const a of j.attempts) {
      const marker = facts.markers.find((m) => m.name === j.name && m.attempt === a.attempt);
      const text = a.log && fs.existsSync(a.log) ? fs.readFileSync(a.log, 'utf8') : '';
      const what = `${j.name}.${a.attempt}'s log ${a.log ?? '(none)'}`;
      if (marker?.end) {
        expect(linesOf(text), what).toEqual(expectedLines(s, j, a.attempt, marker.end.code));
        continue;
      }
      // stopped before its end: what it wrote so far, of its own
      const own = new Set([
        ...itemsOf(j.name, nodeOf(s, j.name).items),
        failLine(j.name, a.attempt),
      ]);
      for (const line of linesOf(text)) expect(own.has(line), `${what}: ${line}`).toBe(true);
    }
}

/** A line of jobrun's stderr that a job wrote (items, or a fail line), unprefixed. */
const JOB_LINE = /^(?:\[([^\]]+)\] )?([a-z0-9]+x\d+|fail \S+\.\d+)$/;

/**
 * The output shown (on stderr, as `--json` holds stdout) is the jobs' and nothing
 * else's: with `--output grouped` or `stream` each line is one an attempt logged
 * (streamed lines under their job's name), all of them when the run went to its
 * end; with `none` or no `--output`, no job line at all.
 */
export function checkShownOutput(s: Scenario, facts: RunFacts, stopped: boolean): void {
  const shown = facts.exit.stderr
    .split('\n')
    .map((l) => JOB_LINE.exec(l))
    .filter((m): m is RegExpExecArray => m !== null);
  if (s.output === 'none' || s.output === 'default') {
    expect(
      shown.map((m) => m[0]),
      `--output ${s.output} showed job output`,
    ).toEqual([]);
    return;
  }
  if (s.output === 'stream')
    for (const m of shown) {
      const line = m[2] ?? '';
      const owner = line.startsWith('fail ') ? line.slice(5).replace(/\.\d+$/, '') : undefined;
      expect(m[1], `a streamed line without its job: ${m[0]}`).toBeDefined();
      if (owner) expect(m[1], m[0]).toBe(owner);
      else expect(line.startsWith((m[1] ?? '').replace(/[^a-z0-9]/g, '') + 'x'), m[0]).toBe(true);
    }
  const lines = shown.map((m) => m[2] ?? '').sort();
  const logged = loggedLines(facts).sort();
  if (!stopped) {
    expect(lines, 'shown output vs the logs').toEqual(logged);
    return;
  }
  const left = [...logged];
  for (const line of lines) {
    const k = left.indexOf(line);
    expect(k, `shown but in no log: ${line}`).toBeGreaterThanOrEqual(0);
    left.splice(k, 1);
  }
}

interface JournalLine {
  name: string;
  status: string;
  pid?: number;
  pids?: number[];
  result?: unknown;
}

/** The journal's lines (one journal per manifest), torn ones left out. */
function readJournal(dir: string): JournalLine[] {
  const journals = path.join(dir, '.jobrun/journal');
  if (!fs.existsSync(journals)) return [];
  const files = fs.readdirSync(journals).filter((f) => f.endsWith('.ndjson'));
  expect(files.length, 'one journal for the manifest').toBeLessThanOrEqual(1);
  return files.flatMap((f) =>
    linesOf(fs.readFileSync(path.join(journals, f), 'utf8')).flatMap((line) => {
      try {
        const entry = JSON.parse(line) as JournalLine;
        // a spawner's line names no job (a run to its end compacts it away)
        if (entry.status === 'spawner') return [];
        // a cached job's end says so; the checks read its record as a success with no attempt
        return [entry.status === 'cached' ? { ...entry, status: 'succeeded' } : entry];
      } catch {
        return []; // a line cut by kill -9: the journal reader skips it too
      }
    }),
  );
}

/**
 * The journal agrees with the report. A run that went to its end (halted or not)
 * leaves its successes alone, earlier ones included, each with its result; an
 * interrupted one (a fresh journal) one end per job that ran or was decided, with the
 * report's state, closing every start of the job, one start per attempt.
 */
export function checkJournal(dir: string, facts: RunFacts, fromLine = 0): void {
  const { report } = facts;
  const lines = readJournal(dir);
  const succeeded = report.jobs.filter((j) => j.status === 'succeeded');
  if (!report.interrupted) {
    const entries = lines.map((l) => ({ name: l.name, status: l.status, result: l.result }));
    const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
    expect(entries.sort(byName), 'the journal of a run to its end vs its successes').toEqual(
      succeeded.map((j) => ({ name: j.name, status: j.status, result: j.result })).sort(byName),
    );
    return;
  }
  const ours = lines.slice(fromLine);
  for (const j of report.jobs) {
    const ends = ours.filter((l) => l.name === j.name && l.status !== 'running');
    const starts = ours.filter((l) => l.name === j.name && l.status === 'running');
    const decided =
      j.reason !== 'succeeded in an earlier run' &&
      !(j.status === 'cancelled' && j.attempts.length === 0);
    expect(
      ends.map((l) => l.status),
      `${j.name}'s end in the journal`,
    ).toEqual(decided ? [j.status] : []);
    expect(starts.length, `${j.name}: journaled starts vs attempts`).toBe(j.attempts.length);
    const closed = ends[0]?.pids ?? [];
    for (const st of starts)
      expect(closed, `${j.name}: start ${st.pid} left open`).toContain(st.pid);
    if (j.status === 'succeeded' && ends[0])
      expect(ends[0].result, `${j.name}'s result`).toEqual(j.result);
  }
  const names = new Set(report.jobs.map((j) => j.name));
  for (const l of ours) expect(names.has(l.name), `journaled ${l.name}, of no job`).toBe(true);
}
