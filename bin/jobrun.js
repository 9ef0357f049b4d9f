#!/usr/bin/env node
import { main } from '../dist/bundle/jobrun.js';

main(process.argv);
