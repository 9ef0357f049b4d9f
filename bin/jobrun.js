#!/usr/bin/env node
// Stop signals are held from here, while jobrun loads: see src/cli/early-stops.ts.
import { holdStops } from '../dist/bundle/early-stops.js';

holdStops();
const { main } = await import('../dist/bundle/jobrun.js');
main(process.argv);
