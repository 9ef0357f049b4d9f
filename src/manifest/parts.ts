/**
 * What expansion and the semantic checks work from: a valid manifest whole, or what
 * `salvage` kept of an invalid one.
 */
import type { DefaultsDoc, JobDoc, ManifestDoc } from './schema.js';

/** What the semantic checks and expansion work from. */
export interface Parts {
  defaults: DefaultsDoc;
  /** Undefined when `pools` itself was invalid: the pool checks are skipped then. */
  pools?: Record<string, unknown>;
  /** Valid jobs by position; `undefined` where a job failed validation. */
  jobs: (JobDoc | undefined)[];
  /** Names of invalid jobs, which `needs` may still mention without an error. */
  invalidNames: Set<string>;
  /** An invalid job had `for_each`, so which names exist is unknowable. */
  unknownNames: boolean;
}

/** The parts of a manifest that passed the schema. */
export function wholeParts(doc: ManifestDoc): Parts {
  const { defaults = {}, pools = {}, jobs } = doc;
  return { defaults, pools, jobs, invalidNames: new Set(), unknownNames: false };
}
