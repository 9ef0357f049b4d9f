// The CPU jobrun's own process spends per job at -j 1, apart from the jobs themselves: the
// spawner is replaced by a stand-in that starts no process (each job "runs" --job-ms, 1 ms
// by default, and leaves an empty log, as `true` does), so what is measured is jobrun's
// main thread alone (the protocol lines, journal, events, reporters, logs), with little
// noise from how fast the machine creates processes. Each build runs N jobs and 1 job; per
// job is (CPU(N) − CPU(1)) / (N − 1), user + system, of the node process only
// (process.cpuUsage). The same work costs more CPU the longer the main thread sleeps between
// jobs (caches, and a virtual CPU's wake-up): `--job-ms 1,5,10` shows by how much here.
// `--old BIN` adds another build (e.g. a copy of an earlier dist/), alternated with this one.
// `-j 2` runs two slots: a machine where starting a process costs nothing, as far as
// jobrun's own work goes. The wall time per job is set against the stand-ins' own, driven
// by a minimal loop with no jobrun (Python's work and wake-ups: ~0.3 ms a job here), so
// `vs stand-in alone` near 1× says jobrun's main thread kept the slots busy.
//   node test/bench/main-thread.mjs [--rounds 3] [--jobs 2000] [--job-ms 1] [-j 1] [--old path/to/bin/jobrun.js]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BIN, makeTempDir, median, removeTempDir, table } from './lib.mjs';

/** The spawner's protocol (see src/exec/spawner-process.ts), answered without any process. */
const STAND_IN = String.raw`
import base64, os, select, time
out, running, queued, n, piped, log, buf, eof = [], None, [], 0, False, None, b'', False
JOB_S = float(os.environ['JOB_MS']) / 1000
BATCH = float(os.environ['BATCH_S'])  # the build's own (see batchOf)
held = False  # lines were held back: they say their age (a build before the batching never queues two deep)
def say(line):
    out.append((time.monotonic(), line))
def start(fields):
    global running, n, piped, log
    parts = fields.split(b' ')
    log = parts[3][1:] if parts[3][:1] == b':' else base64.b64decode(parts[3])  # ':' plain, as the spawner reads it
    piped = parts[5:8] != [b'-', b'-', b'-']  # its streams come back apart
    os.close(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))
    n += 1
    say(b'p %d 1' % (4190000 + n % 4000))  # beyond pid_max: a kill finds nothing
    running = time.monotonic() + JOB_S
def take_input(ending=False):
    """What jobrun sent, without waiting for more, handled in order. A 'q' starts at once
    with no job running, but as a job ends only queues: a 'c' after it still withdraws it."""
    global buf, eof
    while not eof and select.select([0], [], [], 0)[0]:
        data = os.read(0, 65536)
        eof = not data
        buf += data
    while b'\n' in buf:
        line, buf = buf.split(b'\n', 1)
        if line.startswith(b's ') or (line.startswith(b'q ') and running is None and not ending):
            start(line[2:])
        elif line.startswith(b'q '):
            queued.append(line[2:])
        elif line == b'c':
            for _ in queued:
                say(b'w')
            del queued[:]
def hold():
    """As the spawner: ends and starts wait (at most BATCH) while two jobs or more are queued."""
    if not out or running is None or len(queued) < 2 or any(l[:1] not in b'pxko' for _, l in out):
        return 0
    return max(0.0, out[0][0] + BATCH - time.monotonic())
say(b'r')
while not (eof and running is None):
    wait_out = hold()
    if out and wait_out == 0:
        now = time.monotonic()
        os.write(1, b''.join(b'%s\n' % l if not held or now - t < 0.001 else b'@%d %s\n' % ((now - t) * 1e6, l) for t, l in out))
        del out[:]
        held = False
    # as the spawner does: while a job runs, only the doorbell ('c', 't') wakes it, so
    # the next job's order wakes nobody and is read as the job ends
    wait = None if running is None else max(0.0, running - time.monotonic())
    if out and wait_out:
        held = True
        wait = wait_out if wait is None else min(wait, wait_out)
    ready = select.select([3] if running is not None else [0, 3], [], [], wait)[0]
    if 3 in ready:
        os.read(3, 65536)
    if ready:
        take_input()
    if running is not None and time.monotonic() >= running:
        running = None
        # exit 0, its group gone (jobrun signals nothing), no byte of output: the empty
        # log goes, and the end says so (with the pipes closed, it carries the output)
        os.unlink(log)
        mark = len(out)
        take_input(ending=True)
        if running is None and queued:
            start(queued.pop(0))
        out.insert(mark, (time.monotonic(), b'x 0 0 - 0 - 0 -' if piped else b'x 0 0 0'))
`;

const PRELOAD = `import { appendFileSync } from 'node:fs';
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  appendFileSync(process.env.CPU_OUT, (user + system) / 1000 + '\\n');
});
`;

const MODES = {
  'output none': ['--output', 'none'],
  'grouped (default, to a pipe)': [],
  '--json': ['--json'],
};

/**
 * Wall ms for `jobs` jobs through `workers` stand-ins driven by a minimal loop (each next
 * job queued with `q` as the one before reports its start, as jobrun does): what the
 * stand-in itself takes per job, Python's own work and wake-ups, with no jobrun at all.
 */
function standInAlone(jobs, jobMs, workers, dir) {
  const logs = join(dir, 'alone');
  rmSync(logs, { recursive: true, force: true });
  mkdirSync(logs);
  const b64 = (s) => Buffer.from(s).toString('base64');
  const order = (kind, i) =>
    `${kind} 5000 ${b64('/bin/sh')} ${b64(dir)} ${b64(join(logs, `${i}.log`))} ${b64('/dev/null')} - - - 1 ${b64('true')}\n`;
  return new Promise((resolve, reject) => {
    let sent = 0;
    let ended = 0;
    const t0 = performance.now();
    const children = Array.from({ length: workers }, () => {
      const child = spawn(join(dir, 'python'), [], {
        stdio: ['pipe', 'pipe', 'inherit', 'pipe'],
        env: { ...process.env, JOB_MS: String(jobMs), BATCH_S: '0' }, // it queues one deep: nothing held
      });
      let buf = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        buf += chunk;
        for (let nl; (nl = buf.indexOf('\n')) !== -1; buf = buf.slice(nl + 1)) {
          const kind = buf[0];
          if ((kind === 'r' || kind === 'p') && sent < jobs)
            child.stdin.write(order(kind === 'r' ? 's' : 'q', sent++));
          if (kind === 'x' && ++ended === jobs) {
            const wall = performance.now() - t0;
            for (const c of children) c.stdin.end();
            resolve(wall);
          }
        }
      });
      child.on('error', reject);
      return child;
    });
  });
}

/** How long `bin`'s spawner holds reports back to share a write (its BATCH, seconds). */
async function batchOf(bin) {
  const url = pathToFileURL(join(dirname(bin), '..', 'dist', 'exec', 'spawner-source.js')).href;
  const { SPAWNER_SOURCE } = await import(url);
  return Number(/^BATCH, AGED = ([\d.]+),/m.exec(SPAWNER_SOURCE)?.[1] ?? 0.025);
}

/** Node CPU ms and wall ms of one run of `jobs` jobs at `-j workers`. */
async function cpuOf(bin, args, jobs, jobMs, workers, dir) {
  const cpuFile = join(dir, 'cpu.txt');
  rmSync(cpuFile, { force: true });
  rmSync(join(dir, 'logs'), { recursive: true, force: true });
  const input = Array.from({ length: jobs }, (_, i) => i + 1).join('\n') + '\n';
  const t0 = performance.now();
  const run = spawnSync(
    process.execPath,
    ['--import', join(dir, 'preload.mjs'), bin, 'run', '--stdin', '-j', String(workers)].concat([
      '--progress',
      'none',
      '--logs',
      join(dir, 'logs'),
      ...args,
      '--',
      'true',
    ]),
    {
      cwd: dir,
      input,
      env: {
        ...process.env,
        JOBRUN_PYTHON: join(dir, 'python'),
        CPU_OUT: cpuFile,
        JOB_MS: String(jobMs),
        BATCH_S: String(await batchOf(bin)),
      },
      maxBuffer: 1 << 28,
      timeout: 600_000,
    },
  );
  const wall = performance.now() - t0;
  if (run.status !== 0) throw new Error(`${bin} ${args.join(' ')}: exit ${run.status}`);
  return { cpu: Number(readFileSync(cpuFile, 'utf8')), wall };
}

export async function mainThread({
  rounds = 3,
  jobs = 2000,
  jobMs = [1],
  workers = 1,
  old,
  note = console.error,
} = {}) {
  const dir = makeTempDir('main-thread');
  try {
    writeFileSync(join(dir, 'stand-in.py'), STAND_IN);
    writeFileSync(join(dir, 'python'), `#!/bin/sh\nexec python3 ${join(dir, 'stand-in.py')}\n`, {
      mode: 0o755,
    });
    writeFileSync(join(dir, 'preload.mjs'), PRELOAD);
    const builds = { this: BIN, ...(old ? { old } : {}) };
    const perJob = {};
    /** The stand-in alone, per job length: the floor jobrun's wall time is held to. */
    const alone = {};
    for (let r = 0; r < rounds; r++) {
      for (const ms of jobMs) {
        const [many, one] = [
          await standInAlone(jobs, ms, workers, dir),
          await standInAlone(1, ms, workers, dir),
        ];
        (alone[ms] ??= []).push(((many - one) * 1000) / (jobs - 1));
        for (const [mode, args] of Object.entries(MODES)) {
          for (const [build, bin] of Object.entries(builds)) {
            const key = `${build}\t${mode}\t${ms} ms`;
            const many = await cpuOf(bin, args, jobs, ms, workers, dir);
            const one = await cpuOf(bin, args, 1, ms, workers, dir);
            const per = (k) => ((many[k] - one[k]) * 1000) / (jobs - 1);
            (perJob[key] ??= []).push({ cpu: per('cpu'), wall: per('wall') });
          }
        }
      }
      note(`round ${r + 1}/${rounds} done, load ${loadavg().map((x) => x.toFixed(2))}`);
    }
    const rows = Object.entries(perJob).map(([key, values]) => {
      const [build, mode, ms] = key.split('\t');
      const cpu = values.map((v) => v.cpu);
      const wall = median(values.map((v) => v.wall));
      const floor = median(alone[parseFloat(ms)]);
      return [
        build,
        mode,
        ms,
        `${Math.round(median(cpu))} µs`,
        cpu.map(Math.round).join(' '),
        `${Math.round(wall)} µs`,
        `${(wall / floor).toFixed(2)}× (${Math.round(floor)} µs)`,
      ];
    });
    console.log(
      `${jobs} jobs at -j ${workers}, stand-in spawner; per job, median of ${rounds}: node's CPU, and the wall time against the stand-ins driven by a minimal loop (no jobrun)`,
    );
    table(
      ['build', 'output', 'job length', 'CPU', 'CPU by round', 'wall', 'vs stand-in alone'],
      rows,
    );
    console.log(
      `load average: ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}`,
    );
    return Object.fromEntries(
      Object.entries(perJob).map(([k, v]) => [k, median(v.map((x) => x.cpu))]),
    );
  } finally {
    removeTempDir(dir);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string' },
      jobs: { type: 'string' },
      'job-ms': { type: 'string' },
      workers: { type: 'string', short: 'j' },
      old: { type: 'string' },
    },
  });
  await mainThread({
    rounds: Number(values.rounds ?? 3),
    jobs: Number(values.jobs ?? 2000),
    jobMs: (values['job-ms'] ?? '1').split(',').map(Number),
    workers: Number(values.workers ?? 1),
    old: values.old,
  });
}
