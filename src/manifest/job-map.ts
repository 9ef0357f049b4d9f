/**
 * `jobs:` as a mapping of name → job, as GitHub Actions and compose files write it:
 *
 *     jobs:
 *       build: { run: make }
 *       test:  { run: make test, needs: build }
 *
 * is read as the list `[{ name: build, run: make }, { name: test, … }]`, in file order.
 * The schema, the quick reader and the salvage of an invalid manifest all read it through
 * this one function, so issue paths stay `jobs[i]…` (`locate.ts` finds the i-th entry
 * of a mapping as it finds the i-th item of a list).
 */

/** A key `name:` inside a mapping entry contradicts: the key names the job. */
export const NAME_IN_MAPPING = 'a job in a jobs: mapping is named by its key; drop name: here';

/**
 * `jobs` as a list: a list stays as it is; each entry of a mapping becomes its value with
 * `name` set to the key (a null value to `{ name }`). Anything else is returned as it is,
 * for the schema to refuse. An entry that sets its own `name` keeps it, for the schema's
 * check (`NAME_IN_MAPPING`) to report.
 */
export function jobsFromMapping(jobs: unknown): unknown {
  if (!isPlain(jobs)) return jobs;
  return Object.entries(jobs).map(([name, job]) => {
    if (job === null || job === undefined) return { name };
    if (!isPlain(job)) return job;
    return Object.hasOwn(job, 'name') ? { ...job } : { name, ...job };
  });
}

/** The index of each job whose mapping entry also sets `name`, for `NAME_IN_MAPPING`. */
export function namedInMapping(jobs: unknown): number[] {
  if (!isPlain(jobs)) return [];
  return Object.values(jobs).flatMap((job, i) =>
    isPlain(job) && Object.hasOwn(job, 'name') ? [i] : [],
  );
}

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}
