/**
 * `jobrun explain MANIFEST JOB`: for each job of that name (or name glob), whether
 * the next run restores it from the cache or runs it, and why: no earlier entry, or
 * which parts of its key changed since the last entry stored for its name.
 */
import { JobCache, type Explanation } from '../cache/job-cache.js';
import { CacheStore } from '../cache/store.js';
import { UsageError } from '../errors.js';
import { baseEnv } from '../exec/base-env.js';
import { cacheDir } from './cache-setup.js';
import { nameGlob } from './job-source.js';

export interface ExplainFlags {
  json?: boolean;
  cacheDir?: string;
}

export async function explainCommand(
  manifest: string,
  name: string,
  flags: ExplainFlags,
): Promise<number> {
  const { loadManifest } = await import('../manifest/load.js');
  const plan = await loadManifest(manifest);
  const pattern = nameGlob(name);
  const exact = plan.jobs.filter((j) => j.name === name);
  const jobs = exact.length > 0 ? exact : plan.jobs.filter((j) => pattern.test(j.name));
  if (jobs.length === 0)
    throw new UsageError(`${manifest} has no job named ${JSON.stringify(name)}`);
  const options = { use: 'manifest', dir: flags.cacheDir, outputs: [], explain: false } as const;
  const store = new CacheStore(cacheDir(options, plan));
  const cache = new JobCache(store, { warn: () => {}, environ: baseEnv() }); // as a run keys it
  const said: Explanation[] = [];
  const byName = new Map(plan.jobs.map((j) => [j.name, j]));
  const stages = new Map((plan.stages ?? []).map((s) => [s.name, s.from]));
  for (const job of jobs) said.push(await cache.explain(job, byName, stages));
  if (flags.json) {
    process.stdout.write(JSON.stringify({ cacheDir: store.dir, jobs: said }, null, 2) + '\n');
    return 0;
  }
  for (const { name: job, verdict, why } of said) {
    const head = verdict === 'hit' ? 'restored from the cache' : 'runs';
    process.stdout.write(`${job}: ${head}\n${why.map((line) => `  ${line}\n`).join('')}`);
  }
  return 0;
}
