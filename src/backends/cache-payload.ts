/**
 * What travels over Redis for a job with `cache`: in its payload, what the worker needs
 * to make the job's key on its own machine; in its end, the key it made (part of its
 * dependants' keys) and what it could not store.
 *
 * The rest of the key comes from the payload itself (command, argv, shell, capture,
 * `env`), so a worker makes the key a local run makes for the same job, and one cache
 * folder may serve local runs and workers alike.
 */
import { z } from 'zod';
import { keyFolder } from '../cache/key.js';
import type { JobSpec } from '../model/job.js';

const paths = z.array(z.string().max(4096)).max(100_000);

export const cachePayloadSchema = z
  .object({
    /** `inputs:` globs and paths, relative to the job's folder, placeholders substituted. */
    inputs: paths,
    outputs: paths,
    /** `cache_env:` names: their values are read from the worker's environment. */
    env: z.array(z.string().regex(/^[^=\0]+$/, 'bad variable name')).max(10_000),
    /** The file the job was made from (a glob's item). */
    files: paths.optional(),
    /** The key's folder part as the coordinator made it (relative to the manifest). */
    folder: z.string().max(4096),
    /** The keys of the job's needs, as the workers that ran them made them. */
    needs: z.record(z.string(), z.string().max(200)),
    /** `--explain`: say why the job runs in its start message. */
    explain: z.boolean().optional(),
  })
  .strict();

export type CachePayload = z.infer<typeof cachePayloadSchema>;

/** What a worker adds to the end of a job with `cache`. */
export const cacheReportSchema = z.object({
  /** The key it checked the job with; absent when it could not make one. */
  key: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  /** What could not be looked up or stored, and why. */
  notes: z.array(z.string().max(10_000)).max(100).optional(),
});

export type CacheReport = z.infer<typeof cacheReportSchema>;

/** The payload's `cache` for `job`, `needKeys` giving the keys of its needs. */
export function cachePayload(
  job: JobSpec,
  needKeys: (name: string) => string,
  explain: boolean,
): CachePayload | undefined {
  const { cache } = job;
  if (!cache) return undefined;
  const needs: Record<string, string> = {};
  for (const need of job.needs) needs[need] = needKeys(need);
  return {
    inputs: cache.inputs,
    outputs: cache.outputs,
    env: cache.env,
    ...(cache.files === undefined ? {} : { files: cache.files }),
    folder: keyFolder(cache, job.cwd),
    needs,
    ...(explain ? { explain } : {}),
  };
}
