import { describe, expect, it } from 'vitest';
import { HtmlReporter } from '../../src/reporters/html.js';
import { EventsReporter, JsonReporter } from '../../src/reporters/json.js';
import { JunitReporter } from '../../src/reporters/junit.js';
import { LiveReporter } from '../../src/reporters/live.js';
import { OutputReporter } from '../../src/reporters/output.js';
import { pickReporters, resolveProgress } from '../../src/reporters/pick.js';
import { jobOutputMode } from '../../src/reporters/settings.js';
import { PlainReporter } from '../../src/reporters/plain.js';
import type { OutputSettings } from '../../src/reporters/settings.js';
import { SummaryTable } from '../../src/reporters/summary.js';
import { capture, event, record, settings, shape, stripAnsi } from './helpers.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

function term(stderrTty: boolean, stdoutTty = false) {
  return {
    stdout: capture(stdoutTty ? { columns: 80, rows: 24 } : undefined).stream,
    stderr: capture(stderrTty ? { columns: 80, rows: 24 } : undefined).stream,
  };
}

describe('progress mode', () => {
  it('auto is live on a terminal outside CI, plain otherwise', () => {
    expect(resolveProgress('auto', tty, {})).toBe('live');
    expect(resolveProgress('auto', tty, { CI: 'true' })).toBe('plain');
    expect(resolveProgress('auto', tty, { CI: 'false' })).toBe('live');
    expect(resolveProgress('auto', tty, { TERM: 'dumb' })).toBe('plain');
    expect(resolveProgress('auto', pipe, {})).toBe('plain');
  });

  it('tty forces the live view, plain and none are what they say', () => {
    expect(resolveProgress('tty', pipe, { CI: 'true' })).toBe('live');
    expect(resolveProgress('plain', tty, {})).toBe('plain');
    expect(resolveProgress('none', tty, {})).toBe('none');
  });
});

describe('pickReporters', () => {
  it('builds one reporter per flag', () => {
    const kinds = pickReporters(
      settings({ progress: 'auto', json: true, junit: 'j.xml', html: 'r.html' }),
      shape(),
      {},
      term(true),
    ).map((r) => r.constructor);
    expect(kinds).toEqual([LiveReporter, JsonReporter, JunitReporter, HtmlReporter]);
    const plain = pickReporters(
      settings({ events: true, output: 'stream' }),
      shape(),
      { CI: '1' },
      term(true),
    ).map((r) => r.constructor);
    expect(plain).toEqual([OutputReporter, PlainReporter, EventsReporter]);
  });

  it('--output stream makes the run pipe job output; grouped and none do not', () => {
    const needs = (s: OutputSettings) =>
      pickReporters(s, shape(), {}, term(false)).some((r) => r.needsOutput);
    expect(needs(settings({ output: 'stream' }))).toBe(true);
    expect(needs(settings({ output: 'grouped' }))).toBe(false);
    expect(needs(settings())).toBe(false);
  });

  it('constructing reporters has no side effects (the CLI builds them once just to validate flags)', () => {
    const t = term(true, true);
    const before = process.listenerCount('exit');
    pickReporters(settings({ progress: 'tty', output: 'stream' }), shape(), {}, t);
    expect(process.listenerCount('exit')).toBe(before);
  });
});

describe('the summary table', () => {
  /** The widest line of the table `--progress plain` prints to `stderr`, long names ended. */
  function widestLine(stderr: ReturnType<typeof capture>['stream']): number {
    const reporters = pickReporters(
      settings({ progress: 'plain' }),
      shape(),
      {},
      {
        stdout: capture().stream,
        stderr,
      },
    );
    const plain = reporters.find((r) => r instanceof PlainReporter)!;
    for (let i = 0; i < 3; i++) {
      const name = `a-rather-long-job-name-that-goes-on-and-on-number-${i}`;
      plain.onJobEnd?.(event('job_end', { job: record(name, i) }));
    }
    const { table } = (plain as unknown as { options: { table: SummaryTable } }).options;
    const lines = stripAnsi(table.render((_style, text) => text)).split('\n');
    return Math.max(...lines.map((l) => l.length));
  }

  it('fits the terminal with --progress plain too; a pipe gets 100 columns', () => {
    expect(widestLine(capture({ columns: 80, rows: 24 }).stream)).toBeLessThanOrEqual(79);
    const piped = widestLine(capture().stream);
    expect(piped).toBeGreaterThan(80);
    expect(piped).toBeLessThanOrEqual(100);
  });
});

describe('where job output goes by default', () => {
  it('ad-hoc runs and pipes: grouped; a manifest on a terminal: its output: or none; JSON: none', () => {
    const adHoc = shape({ adHoc: true });
    expect(jobOutputMode(settings(), adHoc, true)).toBe('grouped');
    expect(jobOutputMode(settings(), shape(), false)).toBe('grouped');
    expect(jobOutputMode(settings(), shape(), true)).toBe('none');
    expect(jobOutputMode(settings(), shape({ manifestOutput: 'stream' }), true)).toBe('stream');
    expect(jobOutputMode(settings({ json: true }), adHoc, false)).toBe('none');
    expect(jobOutputMode(settings({ json: true, keepOrder: true }), adHoc, false)).toBe('grouped');
    expect(jobOutputMode(settings({ output: 'none' }), adHoc, false)).toBe('none');
  });

  it('under GitHub Actions a manifest run folds its jobs; an ad-hoc run keeps its bytes', () => {
    const env = { GITHUB_ACTIONS: 'true' };
    const fold = (s: ReturnType<typeof shape>) =>
      (
        pickReporters(settings(), s, env, term(false)).find((r) => r instanceof OutputReporter) as
          { github: boolean } | undefined
      )?.github;
    expect(fold(shape())).toBe(true);
    expect(fold(shape({ adHoc: true }))).toBe(false);
  });
});
