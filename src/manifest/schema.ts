/**
 * The manifest's shape, in one place. Everything else derives from this: validation
 * (with positioned errors), the parsed types the expander consumes, and the JSON Schema
 * that `jobrun schema` prints for editors.
 *
 * Objects are `.strict()`, so unknown keys are errors. Durations are parsed here (into
 * milliseconds), so a bad duration is reported at its own position.
 */
import { z } from 'zod';
import type { TimeoutSpec } from '../model/job.js';
import { parseDuration, parsePercent, parseSize, parseTimeout } from './duration.js';
import { jobsFromMapping, NAME_IN_MAPPING, namedInMapping } from './job-map.js';
import { isTemplate, PLACEHOLDER_IN } from './placeholders.js';

const DURATION_HINT = 'a duration: 500ms, 30s, 5m, 1h, or a number of seconds';

/**
 * A string or number read by one of the grammars in `duration.ts`; its error becomes an
 * issue at the value's own position.
 */
function parsedSchema<T>(error: string, parse: (v: string | number) => T) {
  return z.union([z.string(), z.number()], { error }).transform((v, ctx): T => {
    try {
      return parse(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
}

function durationSchema(description: string) {
  return parsedSchema(`expected ${DURATION_HINT}`, (v) => parseDuration(v, '')).describe(
    description,
  );
}

/** A timeout, or a placeholder (`"{t}"`) each item fills in and `item-settings.ts` checks. */
const timeoutSchema = parsedSchema(
  `expected ${DURATION_HINT}, or a percentage like 300%`,
  (v): TimeoutSpec | string => (typeof v === 'string' && isTemplate(v) ? v : parseTimeout(v, '')),
).describe(
  'Stop the job after this long (SIGTERM to its process group, SIGKILL after kill_grace). ' +
    'A duration (30s, 10m) or N% of the median run time of the jobs that already succeeded; ' +
    'or a placeholder ("{timeout}") that each item of a for_each or stage fills in.',
);

const backoffSchema = z
  .object({
    delay: durationSchema('Wait before the first retry (default 1s).').optional(),
    factor: z
      .number()
      .min(1, { error: 'must be at least 1' })
      .optional()
      .describe('Each further wait is multiplied by this (default 2).'),
    max: durationSchema('Longest wait between attempts (default 1m).').optional(),
    jitter: z
      .boolean()
      .optional()
      .describe('Randomise each wait within [delay/2, delay] (default true).'),
  })
  .strict()
  .describe('Exponential backoff between attempts.');

const envValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'expected a string, number or boolean',
});

/**
 * Values as text. A plain number or boolean read from a manifest is already the text it
 * was written with (`as-written.ts`: `1.10`, not 1.1); `String` is for data never written.
 */
const envSchema = z
  .record(
    z
      .string()
      .regex(/^[^=\0]+$/, { error: 'environment variable names cannot be empty or contain "="' }),
    envValue,
  )
  .transform((env) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])))
  .describe('Environment variables added to the runner’s (or worker’s) environment.');

/** Keys a job shares with `defaults`. */
const sharedFields = {
  priority: z
    .union(
      [
        z.number().int({ error: 'expected an integer' }),
        z.string().regex(PLACEHOLDER_IN, {
          error: 'expected an integer, or a placeholder such as "{prio}" that each item fills in',
        }),
      ],
      {
        error: (issue) =>
          typeof issue.input === 'number'
            ? 'expected an integer'
            : 'expected an integer, or a placeholder such as "{prio}"',
      },
    )
    .optional()
    .describe(
      'Higher starts first; equal priorities start in file order (default 0). ' +
        'A placeholder ("{prio}") takes each item\'s value, which must be an integer.',
    ),
  pool: z
    .string()
    .min(1)
    .optional()
    .describe(
      'Name of a pool in `pools`: caps how many of its jobs run at once. ' +
        'A placeholder ("{pool}") takes each item\'s value, which must name a pool in `pools`.',
    ),
  timeout: timeoutSchema.optional(),
  kill_grace: durationSchema(
    'Time between SIGTERM and SIGKILL on timeout or interrupt (default 5s).',
  ).optional(),
  retries: z
    .number()
    .int({ error: 'expected a whole number' })
    .min(0, { error: 'must be 0 or more' })
    .optional()
    .describe('Extra attempts after the first (default 0).'),
  lost_retries: z
    .number()
    .int({ error: 'expected a whole number' })
    .min(0, { error: 'must be 0 or more' })
    .optional()
    .describe(
      'Remote runs: how many times a job lost with its worker (killed, cut off) runs again, apart from retries (default 1).',
    ),
  backoff: backoffSchema.optional(),
  shell: z
    .string()
    .min(1)
    .optional()
    .describe('Shell that runs `run` as `shell -c` (default bash when installed, else /bin/sh).'),
  cwd: z
    .string()
    .min(1)
    .optional()
    .describe('Working directory, relative to the manifest’s folder (default .).'),
  env: envSchema.optional(),
  allow_failure: z
    .boolean()
    .optional()
    .describe('When true a failure is reported but does not fail the run (default false).'),
  capture: z
    .enum(['stdout', 'json', 'lines'], { error: 'expected "stdout", "json" or "lines"' })
    .optional()
    .describe(
      'Keep the job’s stdout (never stderr) as its `result` in the report: the text, ' +
        'parsed as JSON (bad JSON fails the attempt), or an array of lines.',
    ),
  capture_max: parsedSchema('expected a size: 64k, 1M, or bytes', (v) => parseSize(v, ''))
    .optional()
    .describe('Most bytes of stdout a captured result keeps (default 1M); beyond, it is cut.'),
  cache: z
    .boolean()
    .optional()
    .describe(
      'Skip the job when its key (command, shell, folder, env, cache_env values, inputs’ ' +
        'contents) matches an earlier success, restoring its outputs and result (default false).',
    ),
  inputs: globList(
    'Files whose contents are part of the cache key: globs relative to cwd, placeholders allowed; a folder counts with all it holds.',
  ),
  outputs: globList(
    'Files saved after a success and restored byte for byte on a cache hit: globs relative to cwd, placeholders allowed.',
  ),
  cache_env: z
    .array(z.string().regex(/^[^=\0]+$/, { error: 'expected an environment variable name' }))
    .optional()
    .describe('Environment variables whose values (or absence) are part of the cache key.'),
};

function globList(description: string) {
  return z
    .array(z.string().min(1, { error: 'must not be empty' }))
    .optional()
    .describe(description);
}

/** `defaults`: every job key except name, run, for_each and needs. */
export const defaultsSchema = z
  .object(sharedFields)
  .strict()
  .describe('Values every job inherits unless it sets its own.');

const matrixValues = z
  .array(z.union([z.string(), z.number()], { error: 'expected a string or number' }))
  .min(1, { error: 'must not be empty' });

/** `for_each` as an object: a matrix, a CSV file or a file of lines. */
const forEachSourceSchema = z.union(
  [
    z
      .object({
        matrix: z.record(z.string(), matrixValues).refine((m) => Object.keys(m).length > 0, {
          error: 'must not be empty',
        }),
      })
      .strict(),
    z.object({ csv: z.string().min(1, { error: 'must not be empty' }) }).strict(),
    z
      .object({
        lines: z.string().min(1, { error: 'must not be empty' }),
        null_separated: z.boolean().optional(),
      })
      .strict(),
  ],
  { error: 'expected { matrix: {…} }, { csv: file } or { lines: file }' },
);

/** `for_each: { from: JOB }`: a pipeline stage fed by JOB's captured result. */
const fromSchema = z
  .object({
    from: z
      .string()
      .min(1, { error: 'must not be empty' })
      .describe('The job whose result (its stdout lines, or a JSON array) gives the items.'),
  })
  .strict();

/** One entry of `jobs`. */
export const jobSchema = z
  .object({
    name: z
      .string()
      .min(1, { error: 'must not be empty' })
      .describe('Unique job name; may use placeholders such as {stem} with for_each.'),
    run: z
      .string()
      .min(1, { error: 'must not be empty' })
      .describe(
        'Shell command line. Placeholders ({file}, {stem}, …) are quoted for the shell context they stand in (a bare word, \'…\', "…", $(…)); a placeholder in backticks, ${…} or a here-document is refused.',
      ),
    for_each: z
      .union(
        [
          z.string().min(1, { error: 'must not be empty' }),
          z
            .array(z.union([z.string(), z.number()], { error: 'expected a string or number' }))
            .min(1, { error: 'must not be empty' }),
          forEachSourceSchema,
          fromSchema,
        ],
        {
          error:
            'expected a glob string, a list of values, { matrix }, { csv }, { lines } or { from: JOB }',
        },
      )
      .optional()
      .describe(
        'Run one job per item: a glob (relative to cwd), a list of values, { matrix: { key: [values] } } ' +
          '(every combination, {key} placeholders), { csv: file } (a row per job, {column} placeholders), ' +
          '{ lines: file, null_separated? }, or { from: JOB } (a stage: the items are the lines or JSON ' +
          'array JOB printed, known once it succeeds).',
      ),
    batch: z
      .number()
      .int({ error: 'expected a whole number' })
      .min(1, { error: 'must be at least 1' })
      .optional()
      .describe('With for_each: at most this many items per job; {} stands for all of them.'),
    needs: z
      .union(
        [
          z
            .string()
            .min(1, { error: 'must not be empty' })
            .transform((name) => [name]),
          z.array(z.string().min(1, { error: 'must not be empty' })),
        ],
        { error: 'expected a job name or a list of job names' },
      )
      .optional()
      .describe(
        'Jobs that must succeed first: a name or a list. A for_each job’s name template means all its jobs.',
      ),
    stdin: z
      .object({
        from: z
          .string()
          .min(1, { error: 'must not be empty' })
          .describe('A job, or a for_each or stage name template (all of its jobs).'),
      })
      .strict()
      .optional()
      .describe(
        'Fan-in: the job needs these jobs and reads their results on stdin, one JSON line ' +
          '{"name", "result"} per job that succeeded, in order. Without it stdin is /dev/null.',
      ),
    ...sharedFields,
  })
  .strict();

const workersSchema = z
  .union(
    [
      z
        .number()
        .int({ error: 'expected a whole number' })
        // -j 0 (GNU parallel's "as many as possible") is the command line's alone
        .min(1, { error: 'must be at least 1 (for as many as allowed, run with -j 0)' }),
      z
        .object({
          min: z
            .number()
            .int({ error: 'expected a whole number' })
            .min(1, { error: 'must be at least 1' }),
          max: z
            .number()
            .int({ error: 'expected a whole number' })
            .min(1, { error: 'must be at least 1' }),
        })
        .strict()
        .refine((w) => w.min <= w.max, {
          error: 'must not be greater than max',
          path: ['min'],
        }),
    ],
    { error: 'expected a positive whole number or { min, max }' },
  )
  .describe('How many jobs run at once: a number, or { min, max } to scale with queue depth.');

const poolSchema = z
  .object({
    workers: z
      .number()
      .int({ error: 'expected a whole number' })
      .min(1, { error: 'must be at least 1' })
      .optional()
      .describe('At most this many of the pool’s jobs run at once (across every Redis worker).'),
    per_worker: z
      .number()
      .int({ error: 'expected a whole number' })
      .min(1, { error: 'must be at least 1' })
      .optional()
      .describe('At most this many of the pool’s jobs run at once on each Redis worker.'),
  })
  .strict()
  .refine((p) => p.workers !== undefined || p.per_worker !== undefined, {
    error: 'give workers, per_worker, or both',
  });

/** `pools`: name → `{ workers, per_worker }`. */
export const poolsSchema = z
  .record(z.string(), poolSchema)
  .describe('Named pools of specialised workers.');

/** `alerts:`: when the run raises an alert, and the command that hears of it. */
const alertsSchema = z
  .object({
    queue_depth: z
      .object({
        above: z.number().int({ error: 'expected a whole number' }).min(0),
        for: durationSchema('Only once it stayed above this long (default 0s).').optional(),
      })
      .strict()
      .optional()
      .describe('Alert when more than `above` jobs wait, for longer than `for`.'),
    failure_rate: z
      .object({
        above: parsedSchema('expected a percentage like 20%', (v) => parsePercent(v, '')),
        last: z.number().int({ error: 'expected a whole number' }).min(1).optional(),
      })
      .strict()
      .optional()
      .describe('Alert when more than `above` % of the last `last` jobs (default 50) failed.'),
    stalled: durationSchema('Alert when no job ended for this long.').optional(),
    run: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Shell command run on each alert (JOBRUN_ALERT, JOBRUN_ALERT_VALUE, JOBRUN_RUN_ID).',
      ),
  })
  .strict()
  .describe('Alerts while the run runs: an event, a line, and optionally a command.');

/** The whole manifest. */
export const manifestSchema = z
  .object({
    $schema: z.string().optional().describe('URL or path of this JSON Schema (for editors).'),
    version: z.literal(1).optional().describe('Manifest format version; 1 (the default).'),
    workers: workersSchema.optional(),
    order: z
      .enum(['fifo', 'lifo'], { error: 'expected "fifo" or "lifo"' })
      .optional()
      .describe('Among equal priorities: fifo starts in file order (default), lifo the reverse.'),
    output: z
      .enum(['grouped', 'stream', 'none'], { error: 'expected "grouped", "stream" or "none"' })
      .optional()
      .describe(
        'Job output in the terminal (as --output): grouped, stream or none (default: none on a terminal, grouped when stdout is not one).',
      ),
    defaults: defaultsSchema.optional(),
    pools: poolsSchema.optional(),
    alerts: alertsSchema.optional(),
    on_end: z
      .string()
      .min(1)
      .optional()
      .describe(
        'Shell command run when the run ends (JOBRUN_EXIT_CODE, JOBRUN_REPORT and counts in its env).',
      ),
    jobs: z
      .preprocess(
        (jobs, ctx) => {
          for (const i of namedInMapping(jobs))
            ctx.addIssue({
              code: 'custom',
              message: NAME_IN_MAPPING,
              path: [i, 'name'],
              input: jobs,
            });
          return jobsFromMapping(jobs);
        },
        z.array(jobSchema).min(1, { error: 'must list at least one job' }),
      )
      .describe('The jobs to run: a list, or a mapping of name → job (as in GitHub Actions).'),
  })
  .strict();

export type ManifestDoc = z.output<typeof manifestSchema>;
export type JobDoc = z.output<typeof jobSchema>;
export type DefaultsDoc = z.output<typeof defaultsSchema>;

/**
 * The manifest's JSON Schema (draft-07, which yaml-language-server and VS Code read),
 * describing the manifest as written (durations as strings or numbers).
 */
export function manifestJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(manifestSchema, {
    io: 'input',
    target: 'draft-7',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  jobsAsListOrMapping(schema);
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://github.com/jobrun/jobrun/manifest.schema.json',
    title: 'jobrun manifest',
    description: 'A batch of shell jobs for jobrun: workers, pools, defaults and jobs.',
    ...schema,
  };
}

/**
 * The JSON Schema of `jobs` as written: a list of jobs, or a mapping of name → job
 * without `name` (zod describes a preprocessed value only by what it becomes).
 */
function jobsAsListOrMapping(schema: Record<string, unknown>): void {
  const properties = schema.properties as Record<string, Record<string, unknown>>;
  const list = properties.jobs;
  if (list === undefined) return;
  const job = list.items as { properties: Record<string, unknown>; required?: string[] };
  const { name: _name, ...rest } = job.properties;
  const entry = {
    ...job,
    properties: rest,
    required: (job.required ?? []).filter((k) => k !== 'name'),
  };
  const { description, ...listSchema } = list;
  properties.jobs = {
    description,
    anyOf: [listSchema, { type: 'object', minProperties: 1, additionalProperties: entry }],
  };
}
