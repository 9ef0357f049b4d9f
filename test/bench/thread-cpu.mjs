// Preloaded into a jobrun the benches time (`node --import ./thread-cpu.mjs bin/jobrun.js
// …`): at exit it writes the CPU time its main thread used, and that of all its other
// threads together (V8's compiler and garbage collector helpers, libuv's pool), in
// nanoseconds as the scheduler counts it (/proc schedstat), as "MAIN OTHERS" to the file
// named by JOBRUN_BENCH_CPU_FILE. Process-wide counters would mix the two, and wall time
// on a busy machine says little about the work done.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const file = process.env.JOBRUN_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    try {
      const ns = (task) =>
        Number(readFileSync(`/proc/self/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      const others = readdirSync('/proc/self/task')
        .filter((task) => task !== String(process.pid))
        .reduce((sum, task) => sum + ns(task), 0);
      writeFileSync(file, `${ns(process.pid)} ${others}`);
    } catch {
      // no /proc: the columns stay empty
    }
  });
}
