#!/usr/bin/env node
import { setFlagsFromString } from 'node:v8';
// Stop signals are held from here, while jobrun loads: see src/cli/early-stops.ts.
import { holdStops } from '../dist/bundle/early-stops.js';

holdStops();
// V8 optimizes a function once it has run a while (its "interrupt budget"). jobrun's code
// runs a few times per job, so by default it is optimized, inlined and often optimized
// again within the first hundred jobs, on compiler threads that take CPU from the jobs:
// ~180 µs a job in a run of 800 jobs at -j 1, for little gain. Eight times the budget
// leaves short runs on the baseline code and still optimizes a long run's hot path
// (README, "Overhead per job"). Set before jobrun's code loads: it applies to its functions.
// A budget given to node wins, however spelt (V8 reads `_` as `-`); flags that only begin
// with the name (`--interrupt-budget-for-feedback-allocation`) are other flags.
const v8Flag = (arg) => arg.split('=')[0].replaceAll('_', '-');
if (!process.execArgv.some((arg) => v8Flag(arg) === '--interrupt-budget'))
  setFlagsFromString('--interrupt-budget=540672');
const { main } = await import('../dist/bundle/jobrun.js');
main(process.argv);
