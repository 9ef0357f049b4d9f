import { createHelperExecutor } from '../../src/exec/helper-executor.js';
import { createLocalExecutor } from '../../src/exec/local-executor.js';
import { executorConformance } from './conformance.js';

executorConformance(
  'spawner executor',
  () => createHelperExecutor({ fallback: createLocalExecutor(), strict: true }),
  { rawBytes: true },
);
