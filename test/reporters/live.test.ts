import { afterEach, describe, expect, it, vi } from 'vitest';
import { painter } from '../../src/reporters/format.js';
import { LiveRenderer } from '../../src/reporters/live-renderer.js';
import { composeFrame, LiveReporter, type LiveState } from '../../src/reporters/live.js';
import { truncate, visibleWidth } from '../../src/reporters/text.js';
import { Screen } from '../e2e/terminal-screen.js';
import { capture, event, record, stripAnsi, T0 } from './helpers.js';

const plain = painter(false);

function state(over: Partial<LiveState> = {}): LiveState {
  return {
    startedAt: T0,
    total: 10,
    done: { succeeded: 3, cached: 0, failed: 1, timed_out: 0, skipped: 1, cancelled: 0 },
    queued: 2,
    retrying: 0,
    workers: 3,
    running: new Map(),
    ...over,
  };
}

afterEach(() => vi.useRealTimers());

describe('live frame', () => {
  it('shows progress, counts by state, workers, elapsed and ETA', () => {
    const running = new Map([
      ['1-build', { name: 'build', since: T0 + 1000, attempt: 2, worker: '3' }],
    ]);
    const [head, states, job] = composeFrame(state({ running }), T0 + 5000, 24, plain);
    expect(head).toContain(' 50%');
    expect(head).toContain('5/10');
    expect(head).toContain('5.00s');
    expect(head).toContain('ETA 5.00s');
    expect(states).toContain('✔ 3 ✖ 1 ↷ 1');
    expect(states).toContain('running 1');
    expect(states).toContain('queued 2');
    expect(states).toContain('workers 3');
    expect(job).toMatch(/ build {2}4\.00s {2}attempt 2 {2}worker 3$/);
  });

  it('caps running-job lines to the terminal height with "+N more"', () => {
    const running = new Map(
      Array.from({ length: 50 }, (_, i) => [
        `${i + 1}-j${i}`,
        { name: `j${i}`, since: T0 + i, attempt: 1, worker: String(i) },
      ]),
    );
    const lines = composeFrame(state({ running }), T0 + 100, 12, plain);
    expect(lines).toHaveLength(11);
    expect(lines.at(-1)).toContain('+42 more running');
    expect(lines[2]).toContain('j0'); // oldest first
  });

  it('shows counts without a bar when the total is unknown (streamed input)', () => {
    const [head] = composeFrame(state({ total: null }), T0 + 10, 24, plain);
    expect(head).toContain('5 done');
    expect(head).not.toContain('%');
  });

  it('truncates by visible width, keeping colours closed', () => {
    const red = painter(true)('red', 'x'.repeat(30));
    const cut = truncate(red, 10);
    expect(visibleWidth(cut)).toBe(10);
    expect(cut.endsWith('…\u001b[0m')).toBe(true);
    expect(visibleWidth(truncate('日本語日本語', 5))).toBeLessThanOrEqual(5);
  });

  it('counts emoji, ZWJ and skin-tone sequences as terminals do', () => {
    for (const e of ['🚀', '✅', '⌛', '☕', '👨‍👩‍👧', '👍🏽']) expect(visibleWidth(e)).toBe(2);
    const cut = truncate('🚀'.repeat(10), 7);
    expect(cut).toBe('🚀🚀🚀…'); // a wide character never straddles the edge
    expect(visibleWidth(cut)).toBe(7);
  });
});

describe('live renderer', () => {
  it('draws at most once per interval, prints lines above, never wraps, and restores the cursor', async () => {
    vi.useFakeTimers();
    const out = capture({ columns: 20, rows: 10 });
    let frames = 0;
    const r = new LiveRenderer(out.stream, () => (frames++, ['a'.repeat(50), 'second']), 100);
    r.start();
    expect(out.text).toBe('\u001b[?25l');
    await r.ready; // ora, imported when the view starts
    r.line('done: job 1');
    r.line('done: job 2');
    expect(frames).toBe(0); // lines wait for the next frame
    const writes = out.writes();
    vi.advanceTimersByTime(350);
    expect(frames).toBe(3);
    expect(out.writes()).toBe(writes + 3); // one write per frame
    // each frame erases the previous block's two rows (ora's clear: up one row, erase)
    expect(out.text).toContain('\u001b[1G\u001b[0K\u001b[1A\u001b[0K');
    const live = new Screen(20).write(out.text).text();
    expect(live.slice(0, 2)).toEqual(['done: job 1', 'done: job 2']);
    expect(live.slice(2)).toEqual([expect.stringMatching(/^\S a+…$/), 'second']);
    r.stop();
    expect(out.text.endsWith('\u001b[?25h')).toBe(true);
    expect(new Screen(20).write(out.text).text().filter(Boolean)).toEqual([
      'done: job 1',
      'done: job 2',
    ]);
    vi.advanceTimersByTime(1000);
    expect(frames).toBe(3);
  });

  it('erases every row of a block whose lines hold wide characters', async () => {
    const out = capture({ columns: 30, rows: 10 });
    const name = '🚀✅⌛☕ deploy-日本語-' + 'x'.repeat(40);
    const r = new LiveRenderer(out.stream, () => ['head', `  ⠋ ${name}  worker 1`]);
    r.start();
    await r.ready;
    r.render();
    const drawn = new Screen(30).write(out.text).text();
    expect(drawn).toHaveLength(2); // cut to the width: nothing wrapped
    for (const l of drawn) expect(visibleWidth(l)).toBeLessThanOrEqual(29);
    r.line('a job ended');
    r.render();
    r.stop();
    expect(new Screen(30).write(out.text).text().filter(Boolean)).toEqual(['a job ended']);
  });

  it('restores the cursor on process exit when stop() never came', () => {
    const out = capture({ columns: 80, rows: 24 });
    const before = process.listenerCount('exit');
    const r = new LiveRenderer(out.stream, () => ['x']);
    r.start();
    expect(process.listenerCount('exit')).toBe(before + 1);
    process.emit('exit', 0);
    expect(out.text.endsWith('\u001b[?25h')).toBe(true);
    r.stop();
    expect(process.listenerCount('exit')).toBe(before);
  });

  it('a hold copies raw output between frames; lines written meanwhile follow it', async () => {
    const out = capture({ columns: 80, rows: 24 });
    const r = new LiveRenderer(out.stream, () => ['[live]'], 10_000);
    r.start();
    await r.ready;
    r.render();
    await r.hold(async (s) => {
      s.write('file line 1\n');
      r.line('status line');
      await new Promise((res) => setTimeout(res, 5));
      s.write('file line 2\n');
    });
    r.stop();
    const text = stripAnsi(out.text);
    expect(text.indexOf('file line 2')).toBeLessThan(text.indexOf('status line'));
    expect(text.indexOf('file line 1')).toBeGreaterThan(text.indexOf('[live]'));
  });
});

describe('live reporter', () => {
  it('counts states from events and prints finished jobs in the plain format', async () => {
    const out = capture({ columns: 100, rows: 30 });
    const live = new LiveReporter({
      out: out.stream,
      env: {},
      now: () => T0 + 500,
      intervalMs: 10_000,
    });
    live.onRunStart(
      event('run_start', { runId: 'r', manifestPath: null, total: 3, workers: 2, logDir: '/l' }),
    );
    for (const [i, name] of ['a', 'b', 'c'].entries())
      live.onJobQueued(event('job_queued', { id: `${i + 1}-${name}`, name, priority: 0 }));
    live.onJobStart(event('job_start', { id: '1-a', name: 'a', attempt: 1, worker: '1' }));
    live.onJobStart(event('job_start', { id: '2-b', name: 'b', attempt: 1, worker: '2' }));
    expect(live.state.queued).toBe(1);
    expect(live.state.running.size).toBe(2);
    live.onAttemptEnd(
      event('attempt_end', { id: '2-b', name: 'b', result: record('b', 1).attempts[0]! }),
    );
    live.onJobRetry(event('job_retry', { id: '2-b', name: 'b', nextAttempt: 2, delayMs: 100 }));
    expect(live.state.retrying).toBe(1);
    live.onJobQueued(event('job_queued', { id: '2-b', name: 'b', priority: 0 }));
    expect(live.state).toMatchObject({ retrying: 0, queued: 2 });
    live.onJobEnd(event('job_end', { job: record('c', 2, { status: 'cancelled', attempts: [] }) }));
    expect(live.state.queued).toBe(1);
    live.onWorkersChange(event('workers_change', { workers: 4 }));
    await live.renderer.ready;
    live.renderer.render();
    const frame = stripAnsi(out.text);
    expect(frame).toContain('[1/3] ■ cancelled c');
    expect(frame).toContain('running 1 · queued 1 · workers 4');
    const summary = {
      total: 3,
      succeeded: 0,
      cached: 0,
      failed: 0,
      timed_out: 0,
      skipped: 0,
      cancelled: 3,
    };
    await live.onRunEnd(event('run_end', { runId: 'r', summary, durationMs: 500, exitCode: 130 }));
    expect(out.text.lastIndexOf('\u001b[?25h')).toBeGreaterThan(
      out.text.lastIndexOf('\u001b[?25l'),
    );
    expect(stripAnsi(out.text)).toContain('3 jobs: 3 cancelled in 500ms');
    live.dispose(); // idempotent
  });
});
