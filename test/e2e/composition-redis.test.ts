import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import { checkEnded, inCaseDir, propSettings, runArgs } from './composition-case.js';
import { endingFlags, scenarioArb, type Scenario } from './composition-plan.js';
import { runJobrun } from './composition-run.js';
import { killWorkers, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/composition-redis.test.ts');

/**
 * The composition property on Redis: the same random pipelines and stops, `jobrun
 * drain` and `jobrun cancel` on the run's control socket among them (kill -9 and
 * `--resume` aside: a Redis run's resume re-attaches, which the local variant covers
 * through the journal), run by two real `jobrun worker`s of two slots each.
 */
const settings = propSettings(3);
const WORKERS = 2;
const SLOTS = 2;

describe.runIf(enabled)('the composition property on Redis workers (built bin)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await killWorkers();
    await redis?.stop();
  });

  async function checkCase(dir: string, s: Scenario): Promise<void> {
    // started in the case's folder: a job's cwd (the manifest's folder, inside the
    // coordinator's) is resolved on the worker; jobs get the worker's environment
    const worker = () =>
      startWorker(redis.url, ['-j', String(SLOTS), '--pool', '*'], dir, { PROP_RUN: '1' });
    await Promise.all(Array.from({ length: WORKERS }, worker));
    try {
      const args = [...runArgs(s, 1), '--backend', redis.url, ...endingFlags(s.ending)];
      const exit = await runJobrun(dir, args, 1, s.ending, 90_000);
      await checkEnded(dir, s, 1, exit, WORKERS * SLOTS, false);
    } finally {
      await killWorkers();
    }
  }

  it(
    `keeps every promise on random pipelines and stops (seed ${settings.seed})`,
    async () => {
      console.log(
        `composition on Redis: JOBRUN_PROP_SEED=${settings.seed}, ${settings.numRuns} runs`,
      );
      const cases = scenarioArb.map((s): Scenario =>
        s.ending.kind === 'kill9' ? { ...s, ending: { kind: 'normal' } } : s,
      );
      await fc.assert(
        fc.asyncProperty(cases, (s) => inCaseDir(s, settings.seed, (dir) => checkCase(dir, s))),
        settings,
      );
    },
    60_000 + settings.numRuns * 40_000,
  );
});
