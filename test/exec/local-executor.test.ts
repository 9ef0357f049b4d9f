import { createLocalExecutor } from '../../src/exec/local-executor.js';
import { executorConformance } from './conformance.js';

// Node hands strings to the OS as UTF-8: raw bytes cannot reach a job's argv this way.
executorConformance('child_process executor', createLocalExecutor, { rawBytes: false });
