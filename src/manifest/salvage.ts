/**
 * The parts of a manifest that expansion and the semantic checks work from — taken
 * whole from a valid manifest, or salvaged from an invalid one so that one run of the
 * loader reports schema and semantic problems together.
 */
import type { z } from 'zod';
import { jobsFromMapping } from './job-map.js';
import type { Parts } from './parts.js';
import { defaultsSchema, jobSchema, poolsSchema } from './schema.js';

/** Job keys that decide names, commands and dependencies; a job with a bad one is left out of the checks. */
const IDENTITY_KEYS = new Set(['name', 'run', 'for_each', 'needs']);

/**
 * After a schema failure, keeps what is valid so the semantic checks can still report
 * their problems in the same run: keys with issues are dropped from `defaults` and
 * from jobs, unless a job's name, run, for_each or needs is bad — that job is left out
 * (and other jobs may name it in `needs` without an error). Without valid `defaults` or
 * a `jobs` list there is nothing to check.
 */
export function salvage(data: unknown, issues: readonly z.core.$ZodIssue[]): Parts | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const raw = data as Record<string, unknown>;
  const jobs = jobsFromMapping(raw.jobs);
  if (!Array.isArray(jobs)) return undefined;
  const bad = badKeys(issues);
  const defaults = defaultsSchema.safeParse(withoutKeys(raw.defaults ?? {}, bad.get('defaults')));
  if (!defaults.success) return undefined;
  const pools = poolsSchema.safeParse(raw.pools ?? {});
  const parts: Parts = {
    defaults: defaults.data,
    jobs: [],
    invalidNames: new Set(),
    unknownNames: false,
  };
  if (pools.success) parts.pools = pools.data;
  else if (isPlainObject(raw.pools)) parts.pools = raw.pools; // only the names matter
  jobs.forEach((job: unknown, i) => {
    const keys = bad.get(`jobs.${i}`);
    const usable = ![...(keys ?? [])].some((k) => IDENTITY_KEYS.has(k));
    const one = usable ? jobSchema.safeParse(withoutKeys(job, keys)) : undefined;
    parts.jobs.push(one?.success ? one.data : undefined);
    if (one?.success) return;
    const { name, for_each } = (isPlainObject(job) ? job : {}) as Record<string, unknown>;
    if (typeof name === 'string') parts.invalidNames.add(name);
    if (for_each !== undefined || typeof name !== 'string') parts.unknownNames = true;
  });
  return parts;
}

/** For `defaults` and each job (`jobs.N`), the keys that have an issue. */
function badKeys(issues: readonly z.core.$ZodIssue[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (owner: string, keys: readonly PropertyKey[]) => {
    const set = out.get(owner) ?? new Set<string>();
    for (const k of keys) set.add(String(k));
    out.set(owner, set);
  };
  for (const iss of issues) {
    const [top, second, third] = iss.path;
    const unknown = iss.code === 'unrecognized_keys' ? iss.keys : [];
    if (top === 'defaults') add('defaults', second === undefined ? unknown : [second]);
    if (top === 'jobs' && typeof second === 'number') {
      add(`jobs.${second}`, third === undefined ? (unknown.length ? unknown : ['name']) : [third]);
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function withoutKeys(value: unknown, keys: ReadonlySet<string> | undefined): unknown {
  if (!keys || !isPlainObject(value)) return value;
  return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.has(k)));
}
