import type { Entry } from './entry.js';
import { CacheLookup } from './cache-lookup.js';
import { Pipeline } from './pipeline.js';
import { queueAheadFor, type QueueAhead } from './queue-ahead.js';
import { Controls } from './run-controls.js';
import type { SchedulerCore } from './scheduler-core.js';
import type { SchedulerOptions } from './scheduler-options.js';
import type { Steering } from './steering.js';

/** The scheduler's policies, each a small module behind the core it is given. */
export interface Policies {
  /** Stages and the results jobs read. */
  pipeline: Pipeline;
  /** `cache: true` jobs looked up before they run. */
  lookup: CacheLookup;
  /** Jobs queued in spawners behind running ones; only where the executor can. */
  ahead: QueueAhead | undefined;
  /** The verbs that steer the run from outside. */
  controls: Controls;
}

/** The scheduler's own moves that policies call besides the core's. */
export interface PolicyHooks {
  /** Admits a job a stage expanded to. */
  admit(entry: Entry): void;
  /** Queues a ready job by priority. */
  enqueue(entry: Entry): void;
  /** Starts `entry`'s next attempt in the slot it holds. */
  launch(entry: Entry, now: number): void;
  /** Waits for the end of `entry`'s running attempt. */
  watch(entry: Entry): void;
}

/** Wires the policies to one another, once, as a scheduler is built. */
export function wirePolicies(
  core: SchedulerCore,
  options: SchedulerOptions,
  steer: Steering,
  hooks: PolicyHooks,
): Policies {
  const pipeline = new Pipeline(core, options.stages, hooks);
  const lookup = new CacheLookup(core, options.cache, hooks.launch);
  const ahead = queueAheadFor(
    core,
    {
      holding: () => steer.holding,
      lookupFirst: (entry) => lookup.needed(entry),
      watch: hooks.watch,
    },
    options.halt,
  );
  const controls = new Controls(core, steer, ahead, options.gracefulMs ?? 0);
  return { pipeline, lookup, ahead, controls };
}
