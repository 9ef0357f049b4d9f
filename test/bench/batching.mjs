// The batching row of `npm run bench`: 20,000 small files gzipped, jobrun -X (as many
// files per gzip as the argument limit allows) against `xargs -P2 -n 100`. Both keep
// the originals (`gzip -kf`) so every round does the same work. Run alone with
//   node test/bench/batching.mjs [--rounds N] [--files N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import {
  BIN,
  fmtMs,
  fmtRatio,
  makeTempDir,
  median,
  removeTempDir,
  round,
  runTimed,
  table,
  whenMain,
} from './lib.mjs';

/** Runs the comparison; returns the section's results for bench.json. */
export async function batching({
  rounds = 5,
  files = 20_000,
  workers = 2,
  note = console.error,
} = {}) {
  const dir = makeTempDir('batching');
  try {
    mkdirSync(join(dir, 'f'));
    const names = [];
    for (let i = 0; i < files; i++) {
      const name = `f/${String(i).padStart(5, '0')}.txt`;
      writeFileSync(join(dir, name), `line ${i}\n`.repeat(20));
      names.push(name);
    }
    writeFileSync(join(dir, 'list'), names.join('\n') + '\n');
    const peers = [
      {
        name: 'jobrun -X',
        args: [
          process.execPath,
          BIN,
          'run',
          '--stdin',
          '-X',
          '-j',
          String(workers),
          '--progress',
          'none',
          '--',
          'gzip',
          '-kf',
        ],
      },
      {
        name: `xargs -P${workers} -n 100`,
        args: ['xargs', '-P', String(workers), '-n', '100', 'gzip', '-kf'],
      },
    ];
    const times = Object.fromEntries(peers.map((p) => [p.name, []]));
    const failures = [];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 === 0 ? peers : [...peers].reverse();
      const line = [];
      for (const peer of order) {
        const [cmd, ...args] = peer.args;
        const res = await runTimed(cmd, args, {
          cwd: dir,
          stdin: join(dir, 'list'),
          timeoutMs: 600_000,
        });
        if (res.code === 0 && !res.timedOut) times[peer.name].push(res.ms);
        else
          failures.push(
            `${peer.name} round ${r + 1}: exit ${res.code ?? res.signal} ${res.stderr.slice(-200)}`,
          );
        line.push(`${peer.name} ${fmtMs(res.ms)}`);
      }
      note(
        `batching round ${r + 1}/${rounds}: ${line.join(', ')}  (load ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')})`,
      );
    }
    const [a, b] = peers.map((p) => median(times[p.name]));
    const ratio = a / b;
    console.log(`\n## batching: ${files} small files gzipped at -j ${workers}\n`);
    table(
      ['peer', 'median', 'vs xargs'],
      peers.map((p, i) => [p.name, fmtMs([a, b][i]), fmtRatio([a, b][i] / b)]),
    );
    console.log(
      `\njobrun -X / xargs -n 100: ${fmtRatio(ratio)} (load ${loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')})`,
    );
    for (const f of failures) note(`!! ${f}`);
    return {
      files,
      workers,
      rounds,
      medianMs: Object.fromEntries(peers.map((p, i) => [p.name, round([a, b][i], 1)])),
      ratio: round(ratio),
      failures,
    };
  } finally {
    removeTempDir(dir);
  }
}

await whenMain(import.meta.url, async (num) => {
  const res = await batching({ rounds: num('--rounds', 5), files: num('--files', 20_000) });
  process.exitCode = res.failures.length ? 1 : 0;
});
