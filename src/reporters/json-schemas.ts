/**
 * The JSON Schemas (draft-07) of what jobrun writes for machines: the report (`--json`,
 * `--report`; a `--results` folder's `meta.json` is one of its jobs) and the event
 * stream (`--events`). `jobrun schema --report` / `--events` print them, so they ship
 * with the package; `test/reporters/json-schemas.test.ts` validates real runs against them.
 *
 * Written so that the type checker asks for an update: the final states and event types
 * are tables keyed by `FinalStatus` and `RunEventType`, and the summary's counts come from
 * `emptySummary()`. Objects refuse unknown fields, so a new field is added here too.
 */
import { z } from 'zod';
import { emptySummary, type RunEventType } from '../model/events.js';
import type { FinalStatus } from '../model/job.js';
import type { StopSignal } from '../model/stop.js';

const STATUSES: Record<FinalStatus, string> = {
  succeeded: 'exited 0 (on some attempt)',
  cached:
    'not run: its cache key matched an earlier success, whose outputs and result were restored; counts as a success',
  failed: 'its last attempt failed',
  timed_out: 'its last attempt ran out of time',
  skipped: 'never ran: a job it needs did not succeed, or --only left it out',
  cancelled: 'never ran or was stopped: the run was interrupted or halted',
};

const SIGNALS: Record<StopSignal, true> = {
  SIGINT: true,
  SIGTERM: true,
  SIGHUP: true,
  SIGQUIT: true,
  SIGPIPE: true,
};

const keysOf = <K extends string>(table: Record<K, unknown>) => Object.keys(table) as [K, ...K[]];

const time = z.string().describe('An ISO 8601 time in UTC, e.g. 2026-01-31T12:00:00.000Z.');
const ms = z.number().int().min(0).describe('Milliseconds.');
const status = z.enum(keysOf(STATUSES)).describe(
  Object.entries(STATUSES)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; '),
);
/** Any JSON value: a captured result (`capture: json` keeps what the job printed). */
const json = z.unknown().describe('The captured stdout: text, a list of lines, or parsed JSON.');

const attempt = z
  .object({
    attempt: z.number().int().min(1),
    startedAt: time,
    durationMs: ms,
    exitCode: z.number().int().optional(),
    signal: z.string().optional(),
    timedOut: z.boolean(),
    error: z.string().optional().describe('Why it failed although it may have exited 0.'),
    worker: z.string().optional(),
    log: z.string().optional().describe('The log file with this attempt’s output.'),
    outputTail: z.string().optional(),
  })
  .strict();

const job = z
  .object({
    id: z.string().describe('Unique in the run (`3-build`); log files are named after it.'),
    name: z.string(),
    command: z.string(),
    items: z.array(z.string()).optional(),
    stage: z.string().optional().describe('For a stage’s job: the stage’s name template.'),
    cwd: z.string(),
    shell: z.string().optional().describe('Absent when the job ran its program directly.'),
    pool: z.string().optional(),
    priority: z.number().int(),
    needs: z.array(z.string()),
    stdinFrom: z
      .array(z.string())
      .optional()
      .describe('A fan-in’s sources (`stdin: { from }`), a stage by its name template.'),
    status,
    reason: z.string().optional(),
    allowFailure: z.boolean(),
    excluded: z.boolean().optional(),
    exitCode: z.number().int().optional(),
    signal: z.string().optional(),
    attempts: z.array(attempt),
    worker: z.string().optional(),
    log: z.string().optional(),
    outputTail: z.string().optional(),
    result: json.optional(),
    resultTruncated: z.literal(true).optional(),
    startedAt: time.optional(),
    endedAt: time,
    durationMs: ms.optional(),
  })
  .strict();

const summary = z
  .object(Object.fromEntries(Object.keys(emptySummary()).map((k) => [k, z.number().int().min(0)])))
  .strict();

const runEnd = {
  runId: z.string(),
  durationMs: ms,
  exitCode: z.number().int(),
  interrupted: z.enum(keysOf(SIGNALS)).optional(),
  halted: z.string().optional(),
  summary,
};

const reportSchema = z
  .object({
    version: z.literal(1),
    manifest: z.string().nullable(),
    host: z.string(),
    startedAt: time,
    endedAt: time,
    workers: z.number().int().min(0),
    remote: z
      .literal(true)
      .optional()
      .describe(
        "The jobs ran on Redis workers: workers is the run's limit across them, 0 for none of its own.",
      ),
    logDir: z.string(),
    resume: z
      .string()
      .optional()
      .describe(
        "The command that runs what this run did not finish and skips what it did: its own command line with --resume (a retry's too).",
      ),
    ...runEnd,
    outputError: z
      .string()
      .optional()
      .describe(
        "jobrun could not write its own stdout or stderr (a full disk), or a job's log was removed before its output could be shown; exit 1.",
      ),
    jobs: z.array(job),
  })
  .strict();

const named = { id: z.string(), name: z.string() };

/** Each event's fields besides `type` and `time`. */
const EVENTS: Record<RunEventType, z.ZodRawShape> = {
  run_start: {
    runId: z.string(),
    manifest: z.string().nullable(),
    total: z.number().int().min(0).nullable().describe('Null while jobs still stream in.'),
    workers: z.number().int().min(0),
    logDir: z.string(),
    remote: z
      .literal(true)
      .optional()
      .describe(
        "The jobs run on Redis workers: workers is the run's limit across them, 0 for none of its own.",
      ),
  },
  job_queued: { ...named, priority: z.number().int(), pool: z.string().optional() },
  job_start: {
    ...named,
    attempt: z.number().int().min(1),
    worker: z.string(),
    pid: z.number().int().optional(),
  },
  job_output: {
    ...named,
    stream: z.enum(['stdout', 'stderr']),
    line: z.string(),
    worker: z.string().optional(),
  },
  attempt_end: {
    ...named,
    result: attempt.extend({
      result: json.optional(),
      resultTruncated: z.literal(true).optional(),
    }),
  },
  job_retry: { ...named, nextAttempt: z.number().int().min(2), delayMs: ms },
  job_end: { job },
  workers_change: { workers: z.number().int().min(0) },
  run_stopping: {
    reason: z.string(),
    running: z.number().int().min(0),
    graceMs: ms.optional().describe('Absent for a drain: no limit.'),
  },
  alert: {
    alert: z.enum(['queue_depth', 'failure_rate', 'stalled']),
    value: z.number(),
    message: z.string(),
    cleared: z.boolean().describe('True when the episode ended.'),
  },
  run_end: runEnd,
};

const eventSchema = z.union(
  Object.entries(EVENTS).map(([type, shape]) =>
    z.object({ type: z.literal(type), time, ...shape }).strict(),
  ),
);

function draft7(schema: z.ZodType, id: string, title: string): Record<string, unknown> {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: `https://github.com/jobrun/jobrun/${id}.schema.json`,
    title,
    ...(z.toJSONSchema(schema, { target: 'draft-7', unrepresentable: 'any' }) as object),
  };
}

/** The schema of the report (`--json`, `--report`); its `jobs[]` items are `meta.json`s. */
export function reportJsonSchema(): Record<string, unknown> {
  return draft7(reportSchema, 'report', 'jobrun report');
}

/** The schema of one `--events` line. */
export function eventsJsonSchema(): Record<string, unknown> {
  return draft7(eventSchema, 'event', 'jobrun event (one line of --events)');
}
