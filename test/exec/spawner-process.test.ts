import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  QUEUE_DEPTH,
  SpawnerProcess,
  type SpawnOrder,
  type SpawnListener,
  type SpawnReport,
} from '../../src/exec/spawner-process.js';
import { SPAWNER_SOURCE } from '../../src/exec/spawner-source.js';
import { isGone, killQuietly, script, tempDirs, waitFor } from './helpers.js';

const dirs = tempDirs();
const leftovers: number[] = [];
afterEach(() => killQuietly(leftovers.splice(0)));
afterAll(() => dirs.cleanup());

function order(dir: string, command: string, log = 'job.log'): SpawnOrder {
  return {
    file: '/bin/sh',
    argv: ['/bin/sh', '-c', command],
    cwd: dir,
    env: {},
    logPath: join(dir, log),
    stdinPath: '/dev/null',
    killGraceMs: 200,
  };
}

/**
 * Gives `job` to `spawner`, queued behind its last job with `queued`; `done` once it
 * ended. `heard`: when each report came (Date.now()).
 */
function run(
  spawner: SpawnerProcess,
  job: SpawnOrder,
  queued = false,
): {
  reports: SpawnReport[];
  heard: number[];
  done: Promise<SpawnReport[]>;
  listener: SpawnListener;
} {
  const reports: SpawnReport[] = [];
  const heard: number[] = [];
  let settle!: (r: SpawnReport[]) => void;
  const done = new Promise<SpawnReport[]>((resolve) => (settle = resolve));
  const listener = {
    report(report: SpawnReport) {
      reports.push(report);
      heard.push(Date.now());
      if (report.kind === 'pid') leftovers.push(report.pid);
      if (report.kind !== 'pid' && report.kind !== 'signalled') settle(reports);
    },
    death: (why: string) =>
      settle([...reports, { kind: 'error', where: 'exec', code: 'death', message: why }]),
  };
  if (queued) spawner.queue(job, listener);
  else spawner.start(job, listener);
  return { reports, heard, done, listener };
}

/** How long the spawner may hold reports back to share a write (its BATCH), in ms. */
const BATCH_MS = Number(/^BATCH, AGED = ([\d.]+),/m.exec(SPAWNER_SOURCE)?.[1]) * 1000;

/** A shell line that waits (at most 30 s) until the test makes `file`. */
const waitForFile = (file: string) =>
  `i=0; while [ ! -e ${file} ] && [ $i -lt 3000 ]; do sleep 0.01; i=$((i+1)); done`;

const exitOf = (reports: SpawnReport[]) => reports.find((r) => r.kind === 'exit');
const pidOf = (reports: SpawnReport[]) => {
  const p = reports.find((r) => r.kind === 'pid');
  return p?.kind === 'pid' ? p : undefined;
};

describe.each([
  ['pidfd', undefined],
  ['SIGCHLD', script('python-without-pidfd.sh')],
])('the spawner (%s)', (_how, python) => {
  it("says whether a job's group lives on when its leader ends", async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    const alone = await run(spawner, order(dir, 'exit 3')).done;
    expect(exitOf(alone)).toMatchObject({ kind: 'exit', code: 3, groupGone: true });
    const left = await run(spawner, order(dir, 'sleep 30 & echo $! > bg; exit 0', 'b.log')).done;
    expect(exitOf(left)).toMatchObject({ kind: 'exit', code: 0, groupGone: false });
    const bg = Number(readFileSync(join(dir, 'bg'), 'utf8'));
    leftovers.push(bg);
    expect(isGone(bg)).toBe(false); // the spawner only looked; the attempt kills what is left
  });

  it('sizes the log at the end and removes an empty one itself, not while the group lives', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    const said = await run(spawner, order(dir, 'printf hello', 'said.log')).done;
    expect(exitOf(said)).toMatchObject({ groupGone: true, logSize: 5 });
    expect(readFileSync(join(dir, 'said.log'), 'utf8')).toBe('hello');
    const silent = await run(spawner, order(dir, 'exit 2', 'silent.log')).done;
    expect(exitOf(silent)).toMatchObject({ code: 2, groupGone: true, logSize: 0 });
    expect(existsSync(join(dir, 'silent.log'))).toBe(false);
    // what it left may still write: the size is not known yet, the log stays for jobrun
    const left = await run(spawner, order(dir, 'sleep 30 & echo $! > bg', 'left.log')).done;
    leftovers.push(Number(readFileSync(join(dir, 'bg'), 'utf8')));
    expect(exitOf(left)).toMatchObject({ groupGone: false });
    expect(exitOf(left)).not.toHaveProperty('logSize');
    expect(existsSync(join(dir, 'left.log'))).toBe(true);
  });

  it('writes the log and stream files jobrun reads when their path is not valid UTF-8', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    // a byte that is not UTF-8 (from `--logs` read raw) stands alone as U+DCE9; node:fs
    // makes U+FFFD of it, and jobrun reads the files where node:fs says they are
    const raw = join(dir, 'caf\uDCE9');
    const streams = { stdoutPath: `${raw}.out`, stderrPath: `${raw}.err` };
    const plain = await run(spawner, order(dir, 'echo plain', 'caf\uDCE9.log')).done;
    expect(exitOf(plain)).toMatchObject({ code: 0, logSize: 6 });
    expect(readFileSync(`${raw}.log`, 'utf8')).toBe('plain\n');
    const piped = run(spawner, {
      ...order(dir, 'echo out; echo err >&2', 'caf\uDCE9.2.log'),
      streams,
    });
    // said with the end when the pipes closed first, else after it
    const outputOf = () => {
      const end = exitOf(piped.reports);
      return end?.kind === 'exit' && end.output ? end.output : piped.reports.at(-1);
    };
    await piped.done;
    expect(await waitFor(() => outputOf()?.kind === 'output')).toBe(true);
    expect(outputOf()).toMatchObject({ bytes: 8 });
    expect(readFileSync(`${raw}.2.log`, 'utf8')).toBe('out\nerr\n');
    expect(readFileSync(streams.stdoutPath, 'utf8')).toBe('out\n');
    expect(readFileSync(streams.stderrPath, 'utf8')).toBe('err\n');
  });

  it('hears a signal rung while a queued order too big for its pipe is still being written', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    const running = run(spawner, order(dir, "trap 'exit 0' TERM; sleep 10 & wait", 'a.log'));
    expect(await waitFor(() => pidOf(running.reports) !== undefined)).toBe(true);
    const pid = pidOf(running.reports)!.pid;
    // its order (an -X batch) fills the pipe: the rest waits in jobrun until the spawner
    // reads, which it does only as the job ends or the doorbell rings
    const big = {
      ...order(dir, 'true', 'b.log'),
      argv: ['/bin/sh', '-c', 'true', 'x'.repeat(300_000)],
    };
    const queued = run(spawner, big, true);
    spawner.withdraw();
    spawner.signal(pid, 15);
    // jobrun busy for a moment (a loaded run): the rest of the order, the withdrawal and
    // the signal reach the pipe only after the spawner woke up to the rings
    const busy = Date.now() + 300;
    while (Date.now() < busy);
    expect(await waitFor(() => exitOf(running.reports) !== undefined, 3000)).toBe(true);
    expect(running.reports.map((r) => r.kind)).toEqual(['pid', 'signalled', 'exit']);
    expect(await queued.done).toEqual([{ kind: 'withdrawn' }]);
  });

  it('kills what an earlier job left when it goes away, after starting another job', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    // the first job leaves a child that ignores SIGTERM, as a timed-out job's child in
    // its kill grace: jobrun kills it after the grace, unless jobrun dies first
    const left = await run(
      spawner,
      order(dir, "(trap '' TERM; exec sleep 30) & echo $! > bg", 'a.log'),
    ).done;
    expect(exitOf(left)).toMatchObject({ code: 0, groupGone: false });
    const bg = Number(readFileSync(join(dir, 'bg'), 'utf8'));
    leftovers.push(bg);
    // the same spawner starts the next job; its parent (the spawner) then gets SIGTERM,
    // as when jobrun goes away
    const next = run(spawner, order(dir, 'echo $PPID > spawner; exec sleep 30', 'b.log'));
    expect(await waitFor(() => existsSync(join(dir, 'spawner')))).toBe(true);
    process.kill(Number(readFileSync(join(dir, 'spawner'), 'utf8')), 'SIGTERM');
    expect(exitOf(await next.done)).toBeUndefined(); // it died with the job unreported
    expect(await waitFor(() => isGone(bg), 3000)).toBe(true);
  });

  it("carries a job's output on its end when its pipes closed first, else says it after", async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    const streams = { stdoutPath: join(dir, 'p.out'), stderrPath: join(dir, 'p.err') };
    // its pipes closed as it exited: the end carries the output, the empty log is gone
    const silent = await run(spawner, { ...order(dir, 'true', 'silent.log'), streams }).done;
    expect(exitOf(silent)).toMatchObject({ groupGone: true, output: { kind: 'output', bytes: 0 } });
    expect(existsSync(join(dir, 'silent.log'))).toBe(false);
    // a child holds its stdout until told to go on, after the end: the output follows
    const hold = '(while [ ! -e go ]; do sleep 0.01; done; echo late) & echo $! > bg;';
    const late = run(spawner, { ...order(dir, `${hold} echo now`, 'late.log'), streams });
    const end = exitOf(await late.done);
    leftovers.push(Number(readFileSync(join(dir, 'bg'), 'utf8')));
    expect(end).not.toHaveProperty('output');
    writeFileSync(join(dir, 'go'), '');
    expect(await waitFor(() => late.reports.some((r) => r.kind === 'output'))).toBe(true);
    // what came within its idle wait (0.2 s): 'late' too on a machine that keeps up
    const log = readFileSync(join(dir, 'late.log'), 'utf8');
    expect(log).toMatch(/^now\n(late\n)?$/);
    expect(late.reports.at(-1)).toMatchObject({ kind: 'output', bytes: log.length });
  });

  it("says each output for its own job when a later job's output is complete first", async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    const streams = (name: string) => ({
      stdoutPath: join(dir, `${name}.out`),
      stderrPath: join(dir, `${name}.err`),
    });
    // a child holds the first job's pipes past its idle wait (0.2 s of silence); the
    // second, queued behind it, lets go of its pipes 50 ms after it ends
    const hold = '(sleep 1) & echo $! >> bg;';
    const first = run(spawner, {
      ...order(dir, `${hold} echo aaaa`, 'a.log'),
      streams: streams('a'),
    });
    await waitFor(() => pidOf(first.reports) !== undefined);
    const second = run(
      spawner,
      { ...order(dir, '(sleep 0.05) & echo b', 'b.log'), streams: streams('b') },
      true,
    );
    // said after the end, or with it when the pipes closed first (a slow machine)
    const outputOf = (r: SpawnReport[]) => {
      const end = exitOf(r);
      return end?.kind === 'exit' && end.output ? end.output : r.find((x) => x.kind === 'output');
    };
    await waitFor(() => outputOf(first.reports) !== undefined);
    await waitFor(() => outputOf(second.reports) !== undefined);
    for (const pid of readFileSync(join(dir, 'bg'), 'utf8').split('\n').filter(Boolean))
      leftovers.push(Number(pid));
    expect(outputOf(first.reports)).toMatchObject({ kind: 'output', bytes: 5 });
    expect(outputOf(second.reports)).toMatchObject({ kind: 'output', bytes: 2 });
  });

  it('gives each job the start time /proc shows, for many quick jobs in a row', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    // each job queued behind the one before, as runs do: the queued ones start in the spawner
    const jobs = Array.from({ length: 60 }, (_, i) =>
      order(dir, `cut -d" " -f22 /proc/$$/stat`, `${i}.log`),
    );
    const all = [run(spawner, jobs[0]!)];
    for (const job of jobs.slice(1)) {
      const before = all.at(-1)!;
      expect(await waitFor(() => pidOf(before.reports) !== undefined)).toBe(true);
      all.push(run(spawner, job, true)); // starts as the one before ends (at once if it has)
    }
    const ends = await Promise.all(all.map((r) => r.done));
    ends.forEach((reports, i) => {
      expect(exitOf(reports)).toMatchObject({ code: 0 });
      expect(pidOf(reports)?.start).toBe(Number(readFileSync(join(dir, `${i}.log`), 'utf8')));
    });
  });

  it('gives each job its own folder, arguments and variables, whatever the job before had', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    for (const sub of ['x', 'y']) mkdirSync(join(dir, sub));
    // fields repeat, change, and go away from one order to the next (orders encode
    // only what changed): each job must see exactly its own
    const job = (cwd: string, args: string[], env: Record<string, string>, log: string) => ({
      ...order(join(dir, cwd), 'echo "$(pwd) $# $* ${A-unset} ${B-unset}"', join('..', log)),
      argv: ['/bin/sh', '-c', 'echo "$(pwd) $# $* ${A-unset} ${B-unset}"', 'sh', ...args],
      env,
    });
    const jobs = [
      job('x', ['1', '2'], { A: 'a1', B: 'b1' }, '1.log'),
      job('x', ['1', '2'], { A: 'a1', B: 'b1' }, '2.log'),
      job('y', ['1'], { A: 'a2' }, '3.log'),
      job('x', ['3', '2'], { B: 'b1', A: 'a1' }, '4.log'),
      job('x', [], {}, '5.log'),
    ];
    for (const each of jobs)
      expect(exitOf(await run(spawner, each).done)).toMatchObject({ code: 0 });
    const seen = ['1', '2', '3', '4', '5'].map((i) => readFileSync(join(dir, `${i}.log`), 'utf8'));
    expect(seen).toEqual([
      `${dir}/x 2 1 2 a1 b1\n`,
      `${dir}/x 2 1 2 a1 b1\n`,
      `${dir}/y 1 1 a2 unset\n`,
      `${dir}/x 2 3 2 a1 b1\n`,
      `${dir}/x 0  unset unset\n`,
    ]);
  });

  it('passes each field exactly, whether it goes as it is or in base64', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    mkdirSync(join(dir, 'a b'));
    // printable ASCII without a space goes after a ':' as it is, the rest in base64:
    // texts that start with ':', are empty, or sit just outside that range on each side
    const args = [':x', '::', '', 'a b', 'é', '\x7f', '~!', '-'];
    const env = { P: ':v', E: '', S: 'with space', T: 'tab\there' };
    const command = 'printf "[%s]" "$PWD" "$@" "$P" "$E" "$S" "$T"';
    for (const [cwd, log] of [
      ['a b', '1.log'],
      ['.', ':2.log'],
    ] as const) {
      const each = {
        ...order(join(dir, cwd), command, log),
        argv: ['/bin/sh', '-c', command, 'sh', ...args],
        logPath: join(dir, log),
        env,
      };
      expect(exitOf(await run(spawner, each).done)).toMatchObject({ code: 0 });
    }
    const fields = (cwd: string) =>
      [cwd, ...args, ':v', '', 'with space', 'tab\there'].map((f) => `[${f}]`).join('');
    expect(readFileSync(join(dir, '1.log'), 'utf8')).toBe(fields(join(dir, 'a b')));
    expect(readFileSync(join(dir, ':2.log'), 'utf8')).toBe(fields(dir));
  });

  it('runs jobs queued several deep in order, and dates back the reports it held to share a write', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    // each job notes when it started (ms since the epoch), then runs a while: with two or
    // more queued behind it, the spawner holds back the reports of its start
    const job = (name: string, then = 'sleep 0.1') =>
      order(dir, `echo $(($(date +%s%N) / 1000000)) > ${name}.t; ${then}`, `${name}.log`);
    // a runs until the test lets it end: its start is out before its end is said
    const first = run(spawner, job('a', waitForFile('go')));
    const rest: ReturnType<typeof run>[] = [];
    // as many as may wait behind a: b, c, …
    const names = Array.from({ length: QUEUE_DEPTH }, (_, i) => String.fromCharCode(98 + i));
    for (const name of names) {
      const last = rest.at(-1)?.listener ?? first.listener;
      expect(spawner.canQueueBehind(last)).toBe(true);
      if (rest.length > 0) expect(spawner.canQueueBehind(first.listener)).toBe(false); // only behind the last
      rest.push(run(spawner, job(name), true));
    }
    expect(rest.length).toBe(QUEUE_DEPTH);
    expect(spawner.canQueueBehind(rest.at(-1)!.listener)).toBe(false); // as deep as it goes
    expect(await waitFor(() => pidOf(first.reports) !== undefined)).toBe(true);
    writeFileSync(join(dir, 'go'), '');
    const all = [first, ...rest];
    const ends = await Promise.all(all.map((r) => r.done));
    ends.forEach((reports) => expect(exitOf(reports)).toMatchObject({ code: 0 }));
    const started = ['a', ...names].map((n) => Number(readFileSync(join(dir, `${n}.t`), 'utf8')));
    expect([...started].sort((x, y) => x - y)).toEqual(started); // one after the other, in order
    // the end of a, said with b's start while eleven waited, was held back a whole BATCH
    // and is dated back by as much (how late jobrun then hears it is no part of the age)
    const aEnd = exitOf(first.reports)!;
    expect(aEnd.kind === 'exit' && aEnd.ageMs).toBeGreaterThanOrEqual(BATCH_MS - 0.01);
    // b's start, said after a's end in that write, is dated back less, but back
    const bStart = pidOf(all[1]!.reports)!;
    expect(bStart.ageMs).toBeLessThanOrEqual(aEnd.kind === 'exit' ? aEnd.ageMs : 0);
    // the starts said with two or more waiting behind were held back (one said as the
    // hold ran out is news: a slow spawn of its own may make it so, not all of them)
    const held = rest.slice(0, QUEUE_DEPTH - 2).map((r) => pidOf(r.reports)!.ageMs);
    expect(Math.max(...held)).toBeGreaterThan(0);
  });

  it('hands back every queued job after a failure, and on one withdrawal', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    const failing = run(spawner, order(dir, 'sleep 0.2; exit 1', 'a.log'));
    const behind = ['b', 'c', 'd'].map((n) =>
      run(spawner, order(dir, `touch ${n}`, `${n}.log`), true),
    );
    expect(exitOf(await failing.done)).toMatchObject({ code: 1 });
    for (const queued of behind) expect(await queued.done).toEqual([{ kind: 'withdrawn' }]);
    const ok = run(spawner, order(dir, 'sleep 0.3', 'e.log'));
    expect(await waitFor(() => pidOf(ok.reports) !== undefined)).toBe(true);
    const next = ['f', 'g'].map((n) => run(spawner, order(dir, `touch ${n}`, `${n}.log`), true));
    spawner.withdraw();
    for (const queued of next) expect(await queued.done).toEqual([{ kind: 'withdrawn' }]);
    expect(exitOf(await ok.done)).toMatchObject({ code: 0 });
    for (const n of ['b', 'c', 'd', 'f', 'g']) expect(existsSync(join(dir, n))).toBe(false);
    // the withdrawal is over: jobs queue behind the next one again
    const last = run(spawner, order(dir, 'sleep 0.2', 'h.log'));
    expect(spawner.canQueueBehind(last.listener)).toBe(true);
    await last.done;
  });

  it('finds a program on PATH again after the one it found last is gone or not executable', async () => {
    const spawner = new SpawnerProcess(python);
    const dir = dirs.make();
    for (const where of ['a', 'b']) {
      mkdirSync(join(dir, where));
      writeFileSync(join(dir, where, 'prog'), `#!/bin/sh\necho ${where}\n`);
      chmodSync(join(dir, where, 'prog'), 0o755);
    }
    const prog = (log: string): SpawnOrder => ({
      ...order(dir, '', log),
      file: 'prog',
      argv: ['prog'],
      env: { PATH: `${join(dir, 'a')}:${join(dir, 'b')}` },
    });
    expect(exitOf(await run(spawner, prog('1.log')).done)).toMatchObject({ code: 0 });
    expect(readFileSync(join(dir, '1.log'), 'utf8')).toBe('a\n');
    // the one found last is used without looking again, and looked for afresh when it
    // cannot start: no longer executable, then gone
    chmodSync(join(dir, 'a', 'prog'), 0o644);
    expect(exitOf(await run(spawner, prog('2.log')).done)).toMatchObject({ code: 0 });
    expect(readFileSync(join(dir, '2.log'), 'utf8')).toBe('b\n');
    chmodSync(join(dir, 'a', 'prog'), 0o755);
    rmSync(join(dir, 'b', 'prog'));
    expect(exitOf(await run(spawner, prog('3.log')).done)).toMatchObject({ code: 0 });
    expect(readFileSync(join(dir, '3.log'), 'utf8')).toBe('a\n');
    rmSync(join(dir, 'a', 'prog'));
    const gone = await run(spawner, prog('4.log')).done;
    expect(gone.find((r) => r.kind === 'error')).toMatchObject({ where: 'exec', code: 'ENOENT' });
  });
});
