import { createLocalExecutor } from '../../src/exec/local-executor.js';
import { executorConformance } from './conformance.js';

// Node hands environment strings to the OS as UTF-8; the command rebuilds raw bytes in the shell.
executorConformance('child_process executor', createLocalExecutor, { rawBytes: false });
