/**
 * `jobrun explain MANIFEST JOB`: for each job of that name (or name glob), whether
 * the next run restores it from the cache or runs it, and why: no earlier entry, or
 * which parts of its key changed since the last entry stored for its name.
 */
import { JobCache, type Explanation } from '../cache/job-cache.js';
import { CacheStore } from '../cache/store.js';
import { UsageError } from '../errors.js';
import { baseEnv } from '../exec/base-env.js';
import { clean } from '../reporters/text.js';
import { cacheDir } from './cache-setup.js';
import { explainStages } from './explain-stages.js';
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
  const options = { use: 'manifest', dir: flags.cacheDir, outputs: [], explain: false } as const;
  const store = new CacheStore(cacheDir(options, plan));
  const cache = new JobCache(store, { warn: () => {}, environ: baseEnv() }); // as a run keys it
  const byName = new Map(plan.jobs.map((j) => [j.name, j]));
  const stages = new Map((plan.stages ?? []).map((s) => [s.name, s.from]));
  // the jobs a stage makes are known when its source's result is: as the cache would restore it
  const staged = await explainStages(plan, cache, byName, stages);
  const all = [...plan.jobs, ...staged.jobs];
  const pattern = nameGlob(name);
  // a stage's name template stands for its jobs, as in `needs`
  const named = new Set(staged.members.get(name) ?? [name]);
  const exact = all.filter((j) => named.has(j.name));
  const jobs = exact.length > 0 ? exact : all.filter((j) => pattern.test(j.name));
  // a stage named by its template, or one of whose jobs the name could be
  const later =
    exact.length > 0
      ? []
      : [...staged.unknown].filter(([stage]) => pattern.test(stage) || itemOf(stage).test(name));
  if (jobs.length + later.length === 0) {
    const stage = [...staged.members].find(([template]) => itemOf(template).test(name));
    const some = stage && stage[1].slice(0, 5).join(', ') + (stage[1].length > 5 ? ', …' : '');
    const made = stage && `: stage ${stage[0]} makes ${some || 'no job'}`;
    throw new UsageError(`${manifest} has no job named ${JSON.stringify(name)}${made ?? ''}`);
  }
  const said: Explanation[] = [];
  for (const job of jobs) said.push(await cache.explain(job, byName, stages));
  for (const [stage, { runs, why }] of later) {
    const verdict = runs ? 'miss' : 'unknown';
    said.push({ name: stage, verdict, why: [why] });
  }
  if (flags.json) {
    process.stdout.write(JSON.stringify({ cacheDir: store.dir, jobs: said }, null, 2) + '\n');
    return 0;
  }
  // names and paths are the manifest's: its controls (a title escape) become `?`
  for (const { name: job, verdict, why } of said) {
    const head = HEADS[verdict];
    const lines = why.map((line) => `  ${clean(line)}\n`).join('');
    process.stdout.write(`${clean(job)}: ${head}\n${lines}`);
  }
  return 0;
}

const HEADS = { hit: 'restored from the cache', miss: 'runs', unknown: 'not known yet' } as const;

/** The names a stage's name template gives: `proc-{}` is `proc-` and anything after it. */
function itemOf(template: string): RegExp {
  const parts = template.split(/\{[^{}]*\}/).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`);
}
