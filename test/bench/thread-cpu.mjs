// Preloaded into a jobrun the benches time (`node --import ./thread-cpu.mjs bin/jobrun.js
// …`): at exit it writes the CPU time its main thread used, in nanoseconds as the
// scheduler counts it (/proc schedstat), to the file named by JOBRUN_BENCH_CPU_FILE.
// Process-wide counters would add the libuv and V8 helper threads, and wall time on a
// busy machine says little about the work done; this says what the main thread did.
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.JOBRUN_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    try {
      const ns = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0];
      writeFileSync(file, ns);
    } catch {
      // no /proc: the column stays empty
    }
  });
}
