import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { parseJunit, schemaErrors, testcases } from '../junit/check.js';
import {
  fixtureDir,
  requireBuild,
  ROOT,
  runBin,
  runInPty,
  stripAnsi,
} from './reporters-helpers.js';
import { visibleWidth } from '../../src/reporters/text.js';
import { Screen } from './terminal-screen.js';

const HIDE = '\u001b[?25l';
const SHOW = '\u001b[?25h';
const FINAL = '7 jobs: 3 succeeded, 2 failed, 1 timed out, 1 skipped';

let cleanups: (() => void)[] = [];
beforeAll(requireBuild);
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
/** How often the terminal had to wrap a line of the live block (lines above it may wrap). */
function wrapsWhileLive(text: string, cols: number): number {
  return new Screen(cols).write(text).frameWraps;
}

function fixture(name = 'mixed.yaml') {
  const f = fixtureDir(name);
  cleanups.push(f.cleanup);
  return f;
}

describe('live view in a pseudo-terminal', () => {
  it('shows progress while jobs run, keeps successes out of the scrollback, restores the cursor', async () => {
    const f = fixture();
    const run = await runInPty(['run', f.manifest, '--progress', 'tty'], {
      cwd: f.dir,
      cols: 50,
      rows: 20,
    });
    expect(run.code).toBe(1);
    const text = stripAnsi(run.text);
    // every job that did not succeed has its line; succeeded ones are counted in the block
    for (const name of ['lint', 'slow', 'deploy', 'docs'])
      expect(text).toMatch(new RegExp(`\\[\\d/7\\] \\S+ +\\w+ +${name}\\b`));
    for (const name of ['compile', 'unit-tests', 'flaky'])
      expect(text).not.toMatch(new RegExp(`\\[\\d/7\\] ✔ succeeded +${name}\\b`));
    expect(text).toContain('↻ flaky'); // a retry stays
    // the live block: a progress header and running jobs with their worker slot
    expect(text).toMatch(/\d+%/);
    expect(text).toMatch(/running \d+ · queued \d+/);
    expect(text).toMatch(/ slow {2}[\d.]+m?s {2}worker \d/);
    expect(run.text.lastIndexOf(SHOW)).toBeGreaterThan(run.text.lastIndexOf(HIDE));
    expect(run.text.indexOf(HIDE)).toBeGreaterThanOrEqual(0);
    // what is left on screen: the job lines, the table and the summary, no live block
    const screen = new Screen(50).write(run.text).text();
    expect(screen.some((l) => /running \d+ · queued/.test(l))).toBe(false);
    expect(screen.filter((l) => /^\[\d\/7\]/.test(l))).toHaveLength(4);
    expect(screen.filter((l) => /^\[\d\/7\] ✔/.test(l))).toHaveLength(0);
    // everything fits 50 columns: the table (names cut with …) and the summary line
    expect(screen.every((l) => visibleWidth(l) <= 50)).toBe(true);
    expect(screen.some((l) => /│ ✔ succeeded +│ unit-tests +│/.test(l))).toBe(true);
    expect(screen.filter(Boolean).slice(-2).join(' ')).toContain(FINAL); // wrapped at 50 columns
    // while the live view showed, nothing wrapped: a wrapped line would have made the
    // redraw leave garbage behind
    expect(run.text.split('\u001b[?2026h').length).toBeGreaterThan(3); // frames drawn
    expect(wrapsWhileLive(run.text, 50)).toBe(0);
  });

  it('a job named with emoji renders within 60 columns, and every frame is erased', async () => {
    const f = fixture('emoji.yaml');
    const run = await runInPty(['run', f.manifest, '--progress', 'tty'], {
      cwd: f.dir,
      cols: 60,
      rows: 20,
    });
    expect(run.code).toBe(0);
    expect(wrapsWhileLive(run.text, 60)).toBe(0);
    // the running jobs' lines were shown, cut with an ellipsis
    const frames = run.text.split('\u001b[?2026h').slice(1);
    expect(frames.some((fr) => /🚀 deploy ✅ checks.*…/.test(stripAnsi(fr)))).toBe(true);
    // every frame was erased: no live-block line is left on the final screen
    const screen = new Screen(60).write(run.text).text();
    expect(screen.some((l) => /worker \d|running \d+ · queued/.test(l))).toBe(false);
    // all succeeded: no job lines in the scrollback, the table and the summary line stay
    expect(screen.filter((l) => /^\[\d\/4\] ✔ succeeded/.test(l))).toHaveLength(0);
    expect(screen.filter(Boolean).at(-1)).toMatch(/^4 jobs: 4 succeeded in /);
    expect(screen.every((l) => visibleWidth(l) <= 60)).toBe(true);
  });
  it('--progress auto with CI=true in a terminal prints plain lines and never moves the cursor', async () => {
    const f = fixture();
    const run = await runInPty(['run', f.manifest], { cwd: f.dir, env: { CI: 'true' } });
    expect(run.code).toBe(1);
    expect(run.text).not.toContain(HIDE);
    // eslint-disable-next-line no-control-regex
    expect(run.text).not.toMatch(/\u001b\[\d*[AJ]/);
    expect(stripAnsi(run.text)).toContain(FINAL);
    expect(stripAnsi(run.text)).toContain('[1/7]');
  });

  it('--progress auto without CI in a terminal is the live view', async () => {
    const f = fixture();
    const run = await runInPty(['run', f.manifest], { cwd: f.dir });
    expect(run.text).toContain(HIDE);
    expect(run.text.lastIndexOf(SHOW)).toBeGreaterThan(run.text.lastIndexOf(HIDE));
  });

  it('Ctrl-C stops the run, the summary says so, and the cursor comes back', async () => {
    const f = fixture();
    let sent = false;
    const run = await runInPty(['run', f.manifest, '--progress', 'tty'], {
      cwd: f.dir,
      onOutput(text) {
        if (sent || !/ slow {2}/.test(stripAnsi(text))) return undefined;
        sent = true;
        return '\u0003';
      },
    });
    expect(sent).toBe(true);
    expect(run.code).toBe(130);
    expect(stripAnsi(run.text)).toContain('(interrupted by SIGINT)');
    expect(run.text.lastIndexOf(SHOW)).toBeGreaterThan(run.text.lastIndexOf(HIDE));
  });
});

describe('reports from a real run', () => {
  it('--junit writes XML valid against junit-10.xsd, with a testcase per job as junit2json reads it', async () => {
    const f = fixture();
    const xml = join(f.dir, 'out', 'junit.xml');
    const json = join(f.dir, 'out', 'report.json');
    mkdirSync(join(f.dir, 'out')); // jobrun makes no folder for a report
    const r = runBin(['run', f.manifest, '--junit', xml, '--report', json, '--progress', 'none'], {
      cwd: f.dir,
    });
    expect(r.status).toBe(1);
    const text = readFileSync(xml, 'utf8');
    expect(await schemaErrors(text)).toEqual([]);
    const doc = await parseJunit(text);
    expect(doc.failures).toBe(2);
    const cases = testcases(doc);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    // the same jobs, in the same order, with the same outcome as the JSON report
    expect([...cases.keys()]).toEqual(report.jobs.map((j) => j.name));
    for (const job of report.jobs) {
      const c = cases.get(job.name)!;
      const failed = (job.status === 'failed' || job.status === 'timed_out') && !job.allowFailure;
      expect(c.failure?.length ?? 0).toBe(failed ? 1 : 0);
      expect(c.skipped?.length ?? 0).toBe(!failed && job.status !== 'succeeded' ? 1 : 0);
      expect(c.time).toBeCloseTo((job.durationMs ?? 0) / 1000, 2);
    }
    expect(cases.get('lint')!.failure![0]!.message).toBe('exit 3');
    expect(cases.get('slow')!.failure![0]!.type).toBe('timed_out');
    expect(cases.get('lint')!.failure![0]!.inner).toContain('<tag> & "q" ]]> end');
    expect(cases.get('lint')!.failure![0]!.inner).toContain('invalid utf8: \uFFFD\uFFFD done');
    expect(text).not.toContain('\u0001');
  });

  it('ora is loaded by the live view only: never by a --progress none run', async () => {
    const f = fixture();
    const trace = join(f.dir, 'imports.txt');
    const env = {
      NODE_OPTIONS: `--import=${join(ROOT, 'test/support/import-trace.mjs')}`,
      JOBRUN_IMPORT_TRACE: trace,
    };
    const none = runBin(['run', f.manifest, '--progress', 'none'], { cwd: f.dir, env });
    expect(none.status).toBe(1);
    const loaded = readFileSync(trace, 'utf8');
    expect(loaded).toContain('/dist/bundle/jobrun.js'); // the trace works
    expect(loaded).not.toMatch(/\/node_modules\/ora\//);
    rmSync(trace);
    const live = await runInPty(['run', f.manifest, '--progress', 'tty'], { cwd: f.dir, env });
    expect(live.code).toBe(1);
    expect(readFileSync(trace, 'utf8')).toMatch(/\/node_modules\/ora\/index\.js/);
  });

  it('--progress none prints just the summary line', () => {
    const f = fixture();
    const r = runBin(['run', f.manifest, '--progress', 'none', '--output', 'none'], {
      cwd: f.dir,
    });
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(FINAL)]);
  });

  it("plain mode ends with the summary table and the failed jobs' output", () => {
    const f = fixture();
    const r = runBin(['run', f.manifest, '--progress', 'plain'], { cwd: f.dir });
    expect(r.stderr).toMatch(/│ status\s+│ name\s+│ pool\s+│ attempts │ duration │ exit/);
    expect(r.stderr).toMatch(/│ ✔ succeeded\s+│ flaky\s+│ –\s+│\s+2 │/);
    expect(r.stderr).toContain('total: 7 jobs, 7 attempts');
    expect(r.stderr).toMatch(/✖ lint \(exit 3\), last lines of output:\n {4}│ bad /);
  });

  it('--output stream prefixes every line with its job; --output grouped folds jobs in GitHub Actions', () => {
    const f = fixture();
    const s = runBin(['run', f.manifest, '--output', 'stream', '--progress', 'none'], {
      cwd: f.dir,
    });
    expect(s.stdout).toContain('[compile] compiling <main> & friends\n');
    expect(s.stdout).toContain('[flaky] first try fails\n');
    expect(s.stdout).toContain('[flaky] second try ok\n');
    // a job's stderr goes to jobrun's stderr, never down the data pipe
    expect(s.stderr).toContain('[docs] docs warning\n');
    expect(s.stdout).not.toContain('docs warning');

    const g = fixture();
    const r = runBin(['run', g.manifest, '--output', 'grouped', '--progress', 'plain'], {
      cwd: g.dir,
      env: { GITHUB_ACTIONS: 'true' },
    });
    expect(r.stdout).toContain('::group::compile (succeeded, ');
    expect(r.stdout).toMatch(
      /::group::compile \(succeeded, [^)]+\)\ncompiling <main> & friends\n::endgroup::\n/,
    );
    expect(r.stdout).toMatch(
      /::group::flaky[^\n]*\n── attempt 1 ──\nfirst try fails\n── attempt 2 ──\nsecond try ok\n::endgroup::/,
    );
    expect(r.stderr).toContain('::error title=jobrun%3A lint failed::lint: exit 3');
  });

  it('--events writes one JSON object per line, each with a type and an ISO time', () => {
    const f = fixture();
    const r = runBin(['run', f.manifest, '--events', '--progress', 'none'], { cwd: f.dir });
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; time: string });
    expect(events[0]!.type).toBe('run_start');
    expect(events.at(-1)!.type).toBe('run_end');
    for (const e of events) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    const types = new Set(events.map((e) => e.type));
    for (const t of ['job_queued', 'job_start', 'attempt_end', 'job_retry', 'job_end'])
      expect(types).toContain(t);
  });
});
