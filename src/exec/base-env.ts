/**
 * The environment every job starts from: jobrun's own, as it was given, taken once.
 * Both executors lay a job's `env` over this same snapshot, so a job finds the same
 * variables whoever starts it, and nothing that the spawner's interpreter adds to its
 * own environment (Python's C-locale coercion sets `LC_CTYPE`).
 *
 * A snapshot because spawn walks the env it is given on every call, and walking
 * `process.env` (which asks the OS for each variable) costs more per job than the
 * fork itself on small jobs.
 */
let snapshot: Record<string, string> | undefined;

export function baseEnv(): Record<string, string> {
  if (snapshot === undefined) {
    snapshot = {};
    for (const [key, value] of Object.entries(process.env))
      if (value !== undefined) snapshot[key] = value;
  }
  return snapshot;
}

/** A job's whole environment: the snapshot with the job's `env` over it. */
export function jobEnvironment(env: Record<string, string>): Record<string, string> {
  const base = baseEnv();
  return Object.keys(env).length === 0 ? base : { ...base, ...env };
}
