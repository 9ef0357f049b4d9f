#!/usr/bin/env node
// Where does jobrun's time go on trivial jobs?
//   node test/bench/profile.mjs [jobs=2000] [workers=2] [--manifest] [--keep]
// Runs `node --cpu-prof bin/jobrun.js run --stdin --progress none -- true` once and
// prints the main thread's self time grouped by file (src/ vs node internals vs
// node_modules) and the top functions. Time the main thread spends idle (waiting on
// children) shows as "(idle)"; "(program)"/"(garbage collector)" are V8's.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ROOT, makeTempDir, removeTempDir, runTimed, table } from './lib.mjs';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const N = Number(positional[0] ?? 2000);
const J = Number(positional[1] ?? 2);
const keep = args.includes('--keep');
const useManifest = args.includes('--manifest');

const dir = makeTempDir('prof');
const input = join(dir, 'lines.txt');
writeFileSync(input, Array.from({ length: N }, (_, i) => i + 1).join('\n') + '\n');
const manifest = join(dir, 'm.yaml');
writeFileSync(
  manifest,
  `version: 1\njobs:\n${Array.from({ length: N }, (_, i) => `  - name: j${i + 1}\n    run: "true ${i + 1}"`).join('\n')}\n`,
);
const logs = join(dir, 'logs');
const profDir = keep ? join(ROOT, 'test-results', 'profiles') : join(dir, 'prof');
const runArgs = useManifest
  ? ['run', manifest, '--progress', 'none', '--logs', logs, '-j', String(J)]
  : ['run', '--stdin', '--progress', 'none', '--logs', logs, '-j', String(J), '--', 'true'];
const res = await runTimed(
  process.execPath,
  ['--cpu-prof', '--cpu-prof-dir', profDir, BIN, ...runArgs],
  { stdin: input, timeoutMs: 300_000 },
);
console.log(
  `jobrun ${runArgs.join(' ')}: exit ${res.code}, ${(res.ms / 1000).toFixed(3)} s wall (profiling on): ${res.stderr.trim()}`,
);

const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
const prof = JSON.parse(readFileSync(join(profDir, file), 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map(); // node id → µs
for (let i = 0; i < prof.samples.length; i++) {
  const id = prof.samples[i];
  self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const totalUs = [...self.values()].reduce((a, b) => a + b, 0);
const where = (url) => {
  if (!url) return '(native/V8)';
  if (url.includes('/dist/')) return url.slice(url.indexOf('/dist/') + 1);
  if (url.includes('/node_modules/'))
    return 'node_modules/' + url.split('/node_modules/').pop().split('/')[0];
  if (url.startsWith('node:')) return url;
  return url;
};
const byFile = new Map();
const byFn = new Map();
for (const [id, us] of self) {
  const n = byId.get(id);
  const cf = n.callFrame;
  const special = cf.functionName.startsWith('(') ? cf.functionName : undefined;
  const f = special ?? where(cf.url);
  byFile.set(f, (byFile.get(f) ?? 0) + us);
  const fn = special ?? `${cf.functionName || '(anonymous)'} ${where(cf.url)}:${cf.lineNumber + 1}`;
  byFn.set(fn, (byFn.get(fn) ?? 0) + us);
}
const top = (m, k) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, us]) => [
      name.length > 90 ? name.slice(0, 87) + '…' : name,
      `${(us / 1000).toFixed(0)} ms`,
      `${((100 * us) / totalUs).toFixed(1)}%`,
      `${(us / N).toFixed(1)} µs`,
    ]);
console.log(`\nprofile: ${(totalUs / 1000).toFixed(0)} ms of main-thread samples for ${N} jobs`);
console.log('\nself time by file:');
table(['file', 'self', 'share', 'per job'], top(byFile, 25));
console.log('\ntop functions by self time:');
table(['function', 'self', 'share', 'per job'], top(byFn, 30));
if (keep)
  console.log(`\nprofile kept: ${join(profDir, file)} (open in Chrome DevTools → Performance)`);
removeTempDir(dir);
