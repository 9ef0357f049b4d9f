import fc from 'fast-check';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedisOrWarn, startRedis, type RedisServer } from '../backends/redis-server.js';
import type { Report } from '../../src/reporters/report.js';
import { checkEnded, inCaseDir, propSettings, runArgs } from './composition-case.js';
import {
  checkNothingAfter,
  checkRecords,
  journaledSuccesses,
  readFacts,
} from './composition-checks.js';
import { endingFlags, nodeOf, scenarioArb, toItsEnd, type Scenario } from './composition-plan.js';
import { readMarkers, runJobrun, type Exit } from './composition-run.js';
import { killWorkers, startWorker } from './redis-helpers.js';

const enabled = requireRedisOrWarn('test/e2e/composition-redis.test.ts');

/**
 * The composition property on Redis: the same random pipelines and stops, `jobrun
 * drain` and `jobrun cancel` on the run's control socket among them, and kill -9 of
 * the coordinator; after it, or after a stop, maybe `--resume`, which re-attaches to
 * the run in Redis while the workers go on; run by two real `jobrun worker`s of two
 * slots each.
 * `JOBRUN_PROP_ENDING=kill9` (or another kind) soaks one ending alone.
 */
const settings = propSettings(3);
const WORKERS = 2;
const SLOTS = 2;
const ending = process.env.JOBRUN_PROP_ENDING;

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
    // (so every run's markers are in ran/1)
    const worker = () =>
      startWorker(redis.url, ['-j', String(SLOTS), '--pool', '*'], dir, { PROP_RUN: '1' });
    await Promise.all(Array.from({ length: WORKERS }, worker));
    try {
      const args = (run: number) => [...runArgs(s, run), '--backend', redis.url];
      const run = (n: number, flags: string[], e: Scenario['ending']) =>
        runJobrun(dir, [...args(n), ...flags], n, e, 90_000);
      const first = await run(1, endingFlags(s.ending), s.ending);
      if (first.signal !== 'SIGKILL') {
        await checkEnded(dir, s, 1, first, WORKERS * SLOTS, false);
        if (!s.resume || toItsEnd(s.ending)) return;
      }
      await checkResumed(dir, s, first, () => run(2, ['--resume'], { kind: 'normal' }));
    } finally {
      await killWorkers();
    }
  }

  /**
   * `--resume` after the coordinator was killed with -9, or stopped (or ended): it
   * re-attaches to the run, so the run goes to its end as one run would, nothing that
   * exited 0 runs again nor does an attempt of a job that succeeded start twice, what
   * the journal holds as succeeded is reported so, and after it exits no job of the
   * run starts or is left running on the workers.
   */
  async function checkResumed(
    dir: string,
    s: Scenario,
    first: Exit,
    resume: () => Promise<Exit>,
  ): Promise<void> {
    const journaled = journaledSuccesses(dir);
    const before = [...readMarkers(dir, 1).values()];
    const second = await resume();
    const facts = {
      ...(await readFacts(dir, 2, second)),
      markers: [...readMarkers(dir, 1).values()],
      readBack: true,
    };
    checkRecords(s, facts, false, WORKERS * SLOTS, false);
    for (const m of before.filter((x) => x.end?.code === 0)) {
      const again = facts.markers.filter((x) => x.name === m.name && x.start > m.start);
      expect(again, `${m.name} exited 0 before --resume, yet ran again`).toEqual([]);
    }
    // a job that succeeded ran each attempt once: the resume awaited what ran (one a
    // stop cancelled runs again, from its first attempt)
    const log = path.join(dir, 'ran/1/starts');
    const starts = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n') : [];
    const firstReport = path.join(dir, 'report-1.json');
    const cancelled = new Set(
      fs.existsSync(firstReport)
        ? (JSON.parse(fs.readFileSync(firstReport, 'utf8')) as Report).jobs
            .filter((j) => j.status === 'cancelled')
            .map((j) => j.name)
        : [],
    );
    for (const j of facts.report.jobs.filter(
      (x) => x.status === 'succeeded' && !cancelled.has(x.name),
    ))
      for (let a = 1; a <= nodeOf(s, j.name).retries + 1; a++)
        expect(
          starts.filter((x) => x === `${j.name}.${a}`).length,
          `${j.name}.${a}: starts`,
        ).toBeLessThanOrEqual(1);
    for (const name of journaled) {
      const record = facts.report.jobs.find((j) => j.name === name);
      expect(record, `${name} succeeded before`).toMatchObject({
        status: 'succeeded',
        attempts: [],
      });
    }
    await checkNothingAfter(dir, [{ exit: first, markers: before }, facts], second);
  }

  it(
    `keeps every promise on random pipelines, stops and resumes (seed ${settings.seed})`,
    async () => {
      console.log(
        `composition on Redis: JOBRUN_PROP_SEED=${settings.seed}, ${settings.numRuns} runs` +
          (ending ? `, ending ${ending} alone` : ''),
      );
      // on Redis, pause holds only the jobs not yet handed to the workers (README): the
      // local property's "nothing held starts" is not Redis's promise
      const cases = scenarioArb.filter((s) =>
        ending ? s.ending.kind === ending : s.ending.kind !== 'steer',
      );
      await fc.assert(
        fc.asyncProperty(cases, (s) => inCaseDir(s, settings.seed, (dir) => checkCase(dir, s))),
        settings,
      );
    },
    60_000 + settings.numRuns * 60_000,
  );
});
