// jobrun's start-up: what a short command costs before and after its jobs, which a run of
// a few jobs (or `jobrun ps`) is mostly made of, and which a comparison with xargs on a
// fast machine counts in full. Each round runs, alternated:
//   bare node (`node -e 0`): the floor no Node program starts under;
//   `jobrun --version`: the command line and its modules, nothing else;
//   `jobrun run --stdin -- true` with one line: a whole run of one job;
//   `jobrun run quickstart.yaml --dry-run`: a manifest read and planned, nothing run.
// For each it prints the median wall time and the node process's own CPU (user + system,
// all its threads, from a preload at exit; children not counted), and the time over bare
// node. `--old BIN` adds the same rows for another build (e.g. a copy of an earlier
// bin/ + dist/), alternated with this one.
//   node test/bench/startup.mjs [--rounds 15] [--old path/to/bin/jobrun.js]
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  BIN,
  ROOT,
  makeTempDir,
  median,
  removeTempDir,
  runTimed,
  table,
  whenMain,
} from './lib.mjs';

const PRELOAD = `import { writeFileSync } from 'node:fs';
process.on('exit', () => {
  const { user, system } = process.cpuUsage();
  writeFileSync(process.env.JOBRUN_BENCH_CPU_OUT, String((user + system) / 1000));
});
`;

const COMMANDS = {
  'jobrun --version': { args: ['--version'] },
  'run of one job (--stdin -- true)': { args: ['run', '--stdin', '--', 'true'], oneLine: true },
  'quickstart.yaml --dry-run': {
    args: ['run', join(ROOT, 'fixtures/examples/quickstart.yaml'), '--dry-run'],
  },
};

export async function startup({ rounds = 15, old, note = console.log } = {}) {
  const dir = makeTempDir('startup');
  try {
    const preload = join(dir, 'cpu.mjs');
    writeFileSync(preload, PRELOAD);
    const cpuFile = join(dir, 'cpu.txt');
    const oneLine = join(dir, 'one.txt');
    writeFileSync(oneLine, '1\n');
    const builds = { this: BIN, ...(old ? { old } : {}) };
    /** One timed start of `args` (none: bare node): wall and node CPU in ms. */
    const once = async (args, stdin) => {
      rmSync(cpuFile, { force: true });
      const res = await runTimed(
        process.execPath,
        ['--import', preload, ...(args ?? ['-e', '0'])],
        {
          cwd: dir,
          stdin,
          env: { ...process.env, JOBRUN_BENCH_CPU_OUT: cpuFile, NO_COLOR: '1' },
          timeoutMs: 60_000,
        },
      );
      if (res.code !== 0) throw new Error(`${args?.join(' ')}: exit ${res.code}: ${res.stderr}`);
      return { wall: res.ms, cpu: Number(readFileSync(cpuFile, 'utf8')) };
    };
    const samples = {};
    const add = (key, s) => (samples[key] ??= []).push(s);
    for (let r = 0; r < rounds; r++) {
      add('bare node', await once(undefined));
      for (const [name, { args, oneLine: fed }] of Object.entries(COMMANDS))
        for (const [build, bin] of Object.entries(builds))
          add(`${build}\t${name}`, await once([bin, ...args], fed ? oneLine : undefined));
    }
    const bare = {
      wall: median(samples['bare node'].map((s) => s.wall)),
      cpu: median(samples['bare node'].map((s) => s.cpu)),
    };
    const ms = (x) => `${x.toFixed(0)} ms`;
    const rows = Object.entries(samples).map(([key, list]) => {
      const wall = median(list.map((s) => s.wall));
      const cpu = median(list.map((s) => s.cpu));
      const [build, name] = key.includes('\t') ? key.split('\t') : ['', key];
      const over = key === 'bare node' ? ['', ''] : [ms(wall - bare.wall), ms(cpu - bare.cpu)];
      return [build, name, ms(wall), ms(cpu), ...over];
    });
    note(
      `start-up, median of ${rounds} alternated rounds (load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')}); CPU is the node process's own, its children not counted`,
    );
    table(
      ['build', 'command', 'wall', 'node CPU', 'wall over bare node', 'CPU over bare node'],
      rows,
    );
    return { rounds, samples };
  } finally {
    removeTempDir(dir);
  }
}

await whenMain(import.meta.url, async (num) => {
  const argv = process.argv.slice(2);
  const old = argv.includes('--old') ? argv[argv.indexOf('--old') + 1] : undefined;
  await startup({ rounds: num('--rounds', 15), old });
});
