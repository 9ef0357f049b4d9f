// One measurement of the `spawn` section, in a fresh process:
//   node test/bench/spawn-worker.mjs <child_process|execa> <jobs> <concurrency> <log-file>
// Spawns <jobs> × `/bin/sh -c true` at <concurrency>, each detached (own process
// group) with stdin ignored and stdout+stderr on one file descriptor — the options
// the executor uses — and prints one JSON line: { lib, jobs, ms, msPerJob, importMs, failures }.
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

const [lib, jobsArg, concArg, logFile] = process.argv.slice(2);
const jobs = Number(jobsArg);
const concurrency = Number(concArg);
if (!['child_process', 'execa'].includes(lib) || !(jobs > 0) || !(concurrency > 0) || !logFile) {
  console.error('usage: spawn-worker.mjs <child_process|execa> <jobs> <concurrency> <log-file>');
  process.exit(2);
}

const fd = openSync(logFile, 'a');
let failures = 0;
let importMs = 0;
let runOne;

if (lib === 'execa') {
  const t = performance.now();
  const { execa } = await import('execa');
  importMs = performance.now() - t;
  runOne = async () => {
    const r = await execa('/bin/sh', ['-c', 'true'], {
      detached: true,
      stdin: 'ignore',
      stdout: fd,
      stderr: fd,
      reject: false,
    });
    if (r.exitCode !== 0) failures++;
  };
} else {
  runOne = () =>
    new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', 'true'], { detached: true, stdio: ['ignore', fd, fd] });
      child.once('error', () => {
        failures++;
        resolve();
      });
      child.once('exit', (code) => {
        if (code !== 0) failures++;
        resolve();
      });
    });
}

async function pool(n) {
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      await runOne();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
}

await pool(20); // warm-up: JIT, first-spawn costs
failures = 0;
const t0 = performance.now();
await pool(jobs);
const ms = performance.now() - t0;
closeSync(fd);
console.log(
  JSON.stringify({ lib, jobs, concurrency, ms, msPerJob: ms / jobs, importMs, failures }),
);
