import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { alive, waitFor } from './helpers.js';
import { Batch, byName } from './operate-helpers.js';
import { runInPty } from './reporters-helpers.js';

/** Sends one raw line to a socket and returns the answer's first line. */
function rawRequest(socket: string, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = net.createConnection(socket, () => conn.write(line));
    let data = '';
    conn.on('data', (d) => (data += d.toString()));
    conn.on('close', () => resolve(data.split('\n')[0] ?? ''));
    conn.on('error', reject);
    conn.setTimeout(10_000, () => conn.destroy(new Error('no answer')));
  });
}

describe('operating a running batch', () => {
  it('ps lists a live run with its counts; private folder and socket, gone when it ends', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1'], ['a', 'b', 'c']);
      await b.started('a');
      const ps = await b.ctl(['ps', '--json']);
      expect(ps.code).toBe(0);
      const rows = JSON.parse(ps.stdout) as Array<Record<string, unknown>>;
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ pid: b.child?.pid, total: 3, running: 1, queued: 2 });
      const text = await b.ctl(['ps']);
      expect(text.stdout).toMatch(/^RUN +PID +STARTED +PROGRESS +WHAT +FOLDER\n/);
      expect(text.stdout).toMatch(/\d\d:\d\d:\d\d +0\/3 done, running 1, queued 2, workers 1, \d/);

      const dir = path.join(b.xdg, 'jobrun');
      expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
      const socket = path.join(dir, `${String(rows[0]?.runId)}.sock`);
      expect(fs.statSync(socket).mode & 0o777).toBe(0o600);

      // only the verbs: anything else is refused and does nothing
      const refused = await rawRequest(socket, '{"verb":"exec","cmd":"touch pwned"}\n');
      expect(JSON.parse(refused)).toMatchObject({ ok: false });
      const garbage = await rawRequest(socket, '\u0000\u00ff not json\n');
      expect(JSON.parse(garbage)).toMatchObject({ ok: false, error: 'not JSON' });
      expect(fs.existsSync(path.join(b.dir, 'pwned'))).toBe(false);

      b.release();
      const r = await b.result;
      expect(r?.code).toBe(0);
      expect(b.runFiles()).toEqual([]);
      const after = await b.ctl(['ps', '--json']);
      expect(JSON.parse(after.stdout)).toEqual([]);
    } finally {
      await b.finish();
    }
  });

  it("watch from other processes shows progress and exits with the run's code; a watcher killed does not disturb it", async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1'], ['a', 'bad', 'c']);
      await b.started('a');
      const plainWatch = b.follow(['watch']);
      const jsonWatch = b.follow(['watch', '--json']);
      const doomed = b.follow(['watch']);
      for (const w of [plainWatch, jsonWatch, doomed])
        await waitFor(() => /run_start|jobrun: 3 jobs/.test(w.seen()), 30_000, 'a watcher');
      process.kill(doomed.pid() ?? 0, 'SIGKILL');
      await doomed.result;
      b.release();
      const r = await b.result;
      expect(r?.code).toBe(1);
      const watchers = [plainWatch.result, jsonWatch.result];
      const [plain, json] = await Promise.all(watchers);
      expect(plain?.code).toBe(1);
      expect(plain?.stderr).toMatch(/failed\s+bad/);
      expect(plain?.stderr).toMatch(/succeeded c/);
      expect(plain?.stderr).toMatch(/3 jobs: 2 succeeded, 1 failed/);
      expect(json?.code).toBe(1);
      const types = json!.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { type: string }).type);
      expect(types[0]).toBe('run_start');
      expect(types.at(-1)).toBe('run_end');
      expect(types.filter((t) => t === 'job_end').length).toBeGreaterThanOrEqual(2);
    } finally {
      await b.finish();
    }
  });

  it("a watch that joins late says its table's totals are those it saw, not the run's", async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1'], ['a', 'b']);
      await b.started('a');
      b.release('a');
      await b.started('b'); // a ended before anyone watched
      const watch = b.follow(['watch']);
      await waitFor(() => /jobrun: 2 jobs/.test(watch.seen()), 30_000, 'the watcher');
      b.release();
      const w = await watch.result;
      expect(w.code).toBe(0);
      expect(w.stderr).toMatch(/│ b +│/); // the job it saw end
      expect(w.stderr).not.toMatch(/│ a +│/);
      expect(w.stderr).toMatch(
        /total: 1 job ended during this watch \(1 ended before it\), 1 attempt/,
      );
      expect(w.stderr).toMatch(/2 jobs: 2 succeeded/); // the run's own count
    } finally {
      await b.finish();
    }
  });

  it('watch in a terminal draws the live view; Ctrl-C ends the watching, not the run', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1'], ['a', 'b']);
      await b.started('a');
      await waitFor(() => b.runFiles().length === 2, 10_000, 'the run to register');
      let pressed = false;
      const t = await runInPty(['watch'], {
        cwd: b.dir,
        env: { XDG_RUNTIME_DIR: b.xdg },
        onOutput: (text) => {
          if (pressed || !/queued \S*1/.test(text)) return undefined;
          pressed = true;
          return '\u0003';
        },
      });
      expect(t.text).toMatch(/0\/2/); // the progress block, from the run's state
      expect(t.text).toMatch(/⠋|⠙|⠹|⠸|⠼|⠴|⠦|⠧|⠇|⠏/); // a running job's spinner line
      expect(t.code).toBe(130);
      expect(alive(b.child?.pid ?? 0)).toBe(true);
      b.release();
      expect((await b.result)?.code).toBe(0);
    } finally {
      await b.finish();
    }
  });

  it('scale -j 4 raises the jobs running at once from 1 to 4', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1'], ['a', 'b', 'c', 'd', 'e', 'f']);
      await b.started('a');
      expect(b.count('start')).toBe(1);
      const s = await b.ctl(['scale', '-j', '4']);
      expect(s.code).toBe(0);
      await waitFor(() => b.count('start') === 4, 30_000, 'four jobs at once');
      expect(b.count('end')).toBe(0); // all four run together: none has ended
      b.release();
      expect((await b.result)?.code).toBe(0);
      expect(b.count('end')).toBe(6);
    } finally {
      await b.finish();
    }
  });

  it('scale -j 3 keeps file order: the jobs that waited in the one spawner do not start after the later ones', async () => {
    const b = new Batch();
    const names = Array.from({ length: 30 }, (_, i) => `n${String(i + 1).padStart(2, '0')}`);
    const started = () =>
      b
        .events()
        .filter((e) => e.startsWith('start '))
        .map((e) => e.slice('start '.length));
    try {
      void b.start(['-j', '1'], names);
      await b.started('n01');
      // the jobs waiting behind n01 in its spawner come back, to wait again in three
      expect((await b.ctl(['scale', '-j', '3'])).code).toBe(0);
      await waitFor(() => started().length === 3, 30_000, 'three jobs at once');
      // one job ends at a time, the one running longest: the next starts in its slot
      for (let ended = 0; ended < names.length - 3; ended++) {
        b.release(started()[ended]);
        await waitFor(() => started().length === ended + 4, 30_000, `start ${ended + 4}`);
      }
      b.release();
      expect((await b.result)?.code).toBe(0);
      const order = started();
      expect([...order].sort()).toEqual(names);
      // started at most a few places from its own (two jobs took the new slots at once)
      for (const [i, name] of order.entries()) {
        const late = i - names.indexOf(name);
        expect(late, `${name} started ${i + 1}th: ${order.join(' ')}`).toBeLessThanOrEqual(3);
      }
    } finally {
      await b.finish();
    }
  });

  it('pause holds new starts while running jobs end; unpause starts them again', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '2'], ['a', 'b', 'c', 'd']);
      await b.started('a', 'b');
      expect((await b.ctl(['pause'])).code).toBe(0);
      b.release('a');
      b.release('b');
      await waitFor(() => b.count('end') === 2, 30_000, 'a and b to end');
      await new Promise((r) => setTimeout(r, 2000)); // the pause must hold for 2 s
      expect(b.count('start')).toBe(2);
      const ps = JSON.parse((await b.ctl(['ps', '--json'])).stdout) as Array<
        Record<string, unknown>
      >;
      expect(ps[0]).toMatchObject({ paused: true, running: 0, queued: 2 });
      expect((await b.ctl(['unpause'])).code).toBe(0);
      await b.started('c', 'd');
      b.release();
      expect((await b.result)?.code).toBe(0);
    } finally {
      await b.finish();
    }
  });

  it('cancel takes a job whose name starts with a dash after --', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1', '--report', 'r.json', '--kill-grace', '1s'], ['-x', 'y']);
      await b.started('-x');
      const cancel = await b.ctl(['cancel', String(b.child?.pid), '--', '-x']);
      expect(cancel.code).toBe(0);
      expect(cancel.stderr).toMatch(/stopping \(they end cancelled\): -x/);
      await b.started('y');
      b.release('y');
      expect((await b.result)?.code).toBe(0);
      expect(byName(b.report())['-x']).toMatchObject({ status: 'cancelled' });
    } finally {
      await b.finish();
    }
  });

  it('cancel of more jobs than one request holds sends them in batches', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1', '--report', 'r.json', '--kill-grace', '1s'], ['a', 'b']);
      await b.started('a');
      const others = Array.from({ length: 10_001 }, (_, i) => `n${i}`);
      const cancel = await b.ctl(['cancel', String(b.child?.pid), ...others, 'b', '--json']);
      expect(cancel.code, cancel.stderr).toBe(1); // names of no job
      const outcome = JSON.parse(cancel.stdout) as { cancelled: string[]; unknown: string[] };
      expect(outcome.cancelled).toEqual(['b']);
      expect(outcome.unknown).toHaveLength(10_001);
      b.release('a');
      expect((await b.result)?.code).toBe(0);
      expect(byName(b.report())['b']).toMatchObject({ status: 'cancelled' });
    } finally {
      await b.finish();
    }
  });

  it('scale --pool and pause --pool refuse a pool the run does not have (exit 1); ps shows none', async () => {
    const b = new Batch();
    try {
      void b.start(['-j', '1'], ['a', 'b']);
      await b.started('a');
      for (const [verb, ...args] of [
        ['scale', '--pool', 'nosuch=2'],
        ['pause', '--pool', 'nosuch'],
        ['unpause', '--pool', 'nosuch'],
      ] as const) {
        const r = await b.ctl([verb, ...args]);
        expect(r.code, verb).toBe(1);
        expect(r.stderr).toContain(`could not ${verb}: this run has no pool "nosuch"`);
      }
      const ps = JSON.parse((await b.ctl(['ps', '--json'])).stdout) as Array<
        Record<string, unknown>
      >;
      expect(ps[0]).toMatchObject({ paused: false, pausedPools: [], poolLimits: {} });
      b.release();
      expect((await b.result)?.code).toBe(0);
    } finally {
      await b.finish();
    }
  });

  it('cancel ends a queued job at once and stops a running one; neither is retried', async () => {
    const b = new Batch();
    try {
      void b.start(
        ['-j', '1', '--retries', '2', '--report', 'r.json', '--kill-grace', '1s'],
        ['a', 'b', 'c'],
      );
      await b.started('a');
      const pid = String(b.child?.pid);
      const queued = await b.ctl(['cancel', pid, 'b', 'nosuch']); // RUN first, by pid
      expect(queued.code).toBe(1); // one name was no job
      expect(queued.stderr).toMatch(/cancelled: b/);
      expect(queued.stderr).toMatch(/no such job waiting or running: nosuch/);
      // b is a job of the run that never started, not a name the run does not know
      for (const args of [
        ['logs', 'b'],
        ['logs', 'b', '-f'],
      ]) {
        const logs = await b.ctl(args);
        expect(logs.code, args.join(' ')).toBe(0);
        expect(logs.stderr).toMatch(/jobrun: b ended cancelled without starting: no output/);
      }
      const running = await b.ctl(['cancel', 'a', '--json']); // a job name first: the only run
      expect(running.code).toBe(0);
      expect(JSON.parse(running.stdout)).toMatchObject({ stopping: ['a'], cancelled: [] });
      await b.started('c');
      b.release('c');
      const r = await b.result;
      expect(r?.code).toBe(0);
      const jobs = byName(b.report());
      expect(jobs.a).toMatchObject({ status: 'cancelled', reason: 'cancelled by jobrun cancel' });
      expect(jobs.a?.attempts).toHaveLength(1);
      expect(jobs.b).toMatchObject({ status: 'cancelled', attempts: [] });
      expect(jobs.c).toMatchObject({ status: 'succeeded' });
      expect(b.events()).not.toContain('end a'); // stopped, not finished
    } finally {
      await b.finish();
    }
  });

  it('ps shows a job waiting out its retry backoff; cancel ends it there, not retried', async () => {
    const b = new Batch();
    try {
      void b.start(
        ['-j', '1', '--retries', '1', '--backoff', '10m,2,10m', '--report', 'r.json'],
        ['bad'],
      );
      b.release('bad'); // its first attempt fails (exit 3): the retry waits 10 minutes
      let retrying = false;
      for (let tries = 0; tries < 100 && !retrying; tries++)
        retrying = (await b.ctl(['ps', '--json'])).stdout.includes('"retrying": 1');
      expect(retrying).toBe(true);
      const text = await b.ctl(['ps']);
      expect(text.stdout).toMatch(/0\/1 done, running 0, queued 0, retrying 1, workers 1, \d/);
      // a watcher joining now sees it waiting for attempt 2, not queued to start
      const watch = b.follow(['watch', '--json']);
      await waitFor(() => watch.seen().includes('"name":"bad"'), 30_000, 'the watcher');
      const cancel = await b.ctl(['cancel', 'bad']);
      expect(cancel.code).toBe(0);
      expect(cancel.stderr).toMatch(/cancelled: bad/);
      const r = await b.result;
      expect(r?.code).toBe(0);
      const bad = byName(b.report()).bad;
      expect(bad).toMatchObject({ status: 'cancelled', reason: 'cancelled by jobrun cancel' });
      expect(bad?.attempts).toHaveLength(1);
      const events = (await watch.result).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.map((e) => e.type)).toEqual(['run_start', 'job_retry', 'job_end', 'run_end']);
      expect(events[1]).toMatchObject({ name: 'bad', nextAttempt: 2 });
      expect(events[1]?.delayMs).toBeGreaterThan(1000); // what is left of its backoff
    } finally {
      await b.finish();
    }
  });
});
