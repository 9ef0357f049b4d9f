// The spawner alone, against the floor loop: N × `bash -c 'true ITEM'` at one slot, driven
// through the spawner's protocol by a minimal Node loop (the first job with `s`, each next
// one queued with `q` as the one before reports its start), so jobrun's main thread is
// left out. Rows per job: wall time, the spawner's own CPU (user + system, /proc), and
// the driver's time in the `q` write (a write that wakes a sleeping spawner costs a
// cross-CPU wake-up), and the driver's own CPU (its main thread, /proc schedstat).
// `--old DIR` adds the spawner of another build (a folder holding its dist/), alternated
// with this one and the loop. `--burn-us N` adds a row where the driver, after each
// start, keeps busy for N µs, as jobrun's main thread does while the job runs: on a
// machine whose CPUs are independent, the job does not slow down. `--piped` adds a row
// where each job's stdout and stderr come through the spawner's pipes (grouped output).
//   node test/bench/spawner.mjs [--rounds 3] [--jobs 600] [--old path/to/build] [--burn-us 800] [--piped]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { makeTempDir, median, removeTempDir, table } from './lib.mjs';

const LOOP = String.raw`
import os, sys
logs, shell, n = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
env = dict(os.environb)
for i in range(n):
    log = os.path.join(logs.encode(), b'%d.log' % i)
    actions = [(os.POSIX_SPAWN_OPEN, 0, '/dev/null', os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    pid = os.posix_spawn(shell, [shell, b'-c', b'true %d' % i], env, file_actions=actions, setsid=True)
    os.waitpid(pid, 0)
`;

const b64 = (s) => Buffer.from(s).toString('base64');
const order = (kind, shell, dir, i, piped) =>
  [kind, '2000', b64(shell), b64(dir), b64(join(dir, `${i}.log`)), b64('/dev/null')]
    .concat(piped ? [b64(join(dir, `${i}.out`)), b64(join(dir, `${i}.err`)), '-'] : ['-', '-', '-'])
    .concat(['3', b64(shell), b64('-c'), b64(`true ${i}`)])
    .join(' ') + '\n';

/** CPU time of this process's main thread so far (ns), from the scheduler's own count. */
const threadCpuNs = () =>
  Number(readFileSync(`/proc/${process.pid}/schedstat`, 'utf8').split(' ')[0]);

/** Keeps this thread busy for `us` microseconds, allocating as a job's bookkeeping would. */
function burn(us) {
  const until = process.hrtime.bigint() + BigInt(Math.round(us * 1000));
  let junk = [];
  while (process.hrtime.bigint() < until) {
    junk.push({ n: junk.length, s: String(junk.length) });
    if (junk.length > 1000) junk = [];
  }
}

/**
 * Runs `jobs` jobs through the spawner `source`; per job (µs): wall, the spawner's CPU,
 * the q write, and this driver's own CPU, which `burnUs` of busy work after each start
 * adds to (what jobrun's main thread does per job, while the job runs).
 */
function drive(source, shell, dir, jobs, burnUs, piped = false) {
  const child = spawn(python, ['-I', '-S', '-c', source], {
    stdio: ['pipe', 'pipe', 'inherit', 'pipe'],
  });
  const bell = child.stdio[3];
  bell.resume();
  for (const pipe of [bell, child.stdin]) pipe.on('error', () => {}); // the spawner's exit
  // As jobrun does: `b` and `s` go while no job runs, when the spawner listens on stdin;
  // the doorbell is only for `c` and `t` (each ring keeps it listening until that line came).
  const send = (line) => child.stdin.write(line);
  send(['b', ...Object.entries(process.env).map(([k, v]) => b64(`${k}=${v}`))].join(' ') + '\n');
  return new Promise((resolve, reject) => {
    let sent = 0;
    let ended = 0;
    let writing = 0n;
    let t0 = 0n;
    let cpu0 = 0;
    let pending = '';
    child.once('error', reject);
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk) => {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf('\n')) >= 0) {
        // a line the spawner held back says its age first ('@AGE '): not needed here
        const line = pending.slice(0, nl).replace(/^@\d+ /, '');
        pending = pending.slice(nl + 1);
        if (line === 'r') {
          t0 = process.hrtime.bigint();
          cpu0 = threadCpuNs();
          send(order('s', shell, dir, sent++, piped));
        } else if (line[0] === 'p' && sent < jobs) {
          const w = process.hrtime.bigint();
          child.stdin.write(order('q', shell, dir, sent++, piped));
          writing += process.hrtime.bigint() - w;
          if (burnUs > 0) burn(burnUs);
        } else if (line[0] === 'x' && ++ended === jobs) {
          const wall = Number(process.hrtime.bigint() - t0) / 1e3 / jobs;
          const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
          const ticks = Number(stat[11]) + Number(stat[12]);
          child.stdin.end();
          resolve({
            wall,
            cpu: (ticks * 1e6) / 100 / jobs,
            write: Number(writing) / 1e3 / jobs,
            driver: (threadCpuNs() - cpu0) / 1e3 / jobs,
          });
        }
      }
    });
  });
}

async function spawnerSource(root) {
  const url = pathToFileURL(join(root, 'dist/exec/spawner-source.js')).href;
  return (await import(url)).SPAWNER_SOURCE;
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    jobs: { type: 'string' },
    old: { type: 'string' },
    'burn-us': { type: 'string' },
    piped: { type: 'boolean' },
  },
});
const rounds = Number(values.rounds ?? 3);
const jobs = Number(values.jobs ?? 600);
const burnUs = Number(values['burn-us'] ?? 0);
const { pythonCommand } = await import('../../dist/exec/python-command.js');
const python = pythonCommand();
const shell = spawnSync('sh', ['-c', 'command -v bash']).stdout.toString().trim() || '/bin/sh';
const builds = [['this', await spawnerSource(new URL('../..', import.meta.url).pathname)]];
if (values.old) builds.push(['old', await spawnerSource(values.old)]);
const dir = makeTempDir('spawner');
const results = new Map();
const note = (name, row) => results.set(name, [...(results.get(name) ?? []), row]);
try {
  for (let r = 1; r <= rounds; r++) {
    for (const [name, source] of builds) {
      const logs = join(dir, `${name}-${r}`);
      mkdirSync(logs);
      note(name, await drive(source, shell, logs, jobs, 0));
      if (values.piped) {
        mkdirSync(`${logs}-piped`);
        note(`${name}, output piped`, await drive(source, shell, `${logs}-piped`, jobs, 0, true));
      }
      if (burnUs > 0) {
        const burnt = `${name}, driver busy ${burnUs} µs a job`;
        mkdirSync(`${logs}-burn`);
        note(burnt, await drive(source, shell, `${logs}-burn`, jobs, burnUs));
      }
    }
    const logs = join(dir, `loop-${r}`);
    mkdirSync(logs);
    const t = process.hrtime.bigint();
    spawnSync(python, ['-c', LOOP, logs, shell, String(jobs)], { stdio: 'inherit' });
    note('loop', { wall: Number(process.hrtime.bigint() - t) / 1e3 / jobs });
    console.error(`round ${r}/${rounds} done, load ${loadavg().map((x) => x.toFixed(2))}`);
  }
} finally {
  removeTempDir(dir);
}
const us = (rows, key) =>
  rows[0][key] === undefined ? '–' : `${median(rows.map((x) => x[key])).toFixed(0)} µs`;
console.log(`${jobs} × ${shell} -c 'true N', one slot; medians of ${rounds} rounds`);
table(
  ['peer', 'wall per job', 'spawner CPU per job', 'q write per job', 'driver CPU per job'],
  [...results].map(([name, rows]) => [
    name === 'loop' ? 'posix_spawn loop' : `spawner (${name})`,
    us(rows, 'wall'),
    us(rows, 'cpu'),
    us(rows, 'write'),
    us(rows, 'driver'),
  ]),
);
console.log(
  `load average: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
