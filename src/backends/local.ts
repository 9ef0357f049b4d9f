import { Scheduler } from '../core/scheduler.js';
import { createLocalExecutor } from '../exec/local-executor.js';
import type { Executor } from '../exec/types.js';
import type { Backend, BackendRun, RunOptions } from './backend.js';

/**
 * The default backend: the scheduler runs jobs as child processes of this one.
 * Tests may pass another executor; the CLI never does.
 */
export function createLocalBackend(executor: Executor = createLocalExecutor()): Backend {
  return {
    createRun(options: RunOptions): BackendRun {
      // the journal alone carries local resume state: identity and resume are not needed here
      const { identity: _identity, resume: _resume, ...rest } = options;
      return new Scheduler({ ...rest, executor });
    },
    close: async () => {},
  };
}
