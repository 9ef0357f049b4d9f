/**
 * How jobs are started: `--spawner` or `JOBRUN_SPAWNER` (see `choose-executor.ts`). Apart
 * from the executors so that reading the flags loads none of them.
 */
export type SpawnerChoice = 'auto' | 'helper' | 'child';
export const SPAWNER_CHOICES: readonly SpawnerChoice[] = ['auto', 'helper', 'child'];
