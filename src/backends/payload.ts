import path from 'node:path';
import { z } from 'zod';
import type { AttemptResult } from '../model/attempt.js';
import type { JobSpec } from '../model/job.js';
import { CAPTURE_MODES } from '../model/result.js';
import { cachePayloadSchema } from './cache-payload.js';

/**
 * What the coordinator ships to a worker for one job: the command and how to run it.
 * Not shipped: the coordinator's environment (the worker's own is used, with the
 * manifest's `env` on top), and absolute paths of the coordinator's machine where a
 * relative one will do (`cwd` is relative to the coordinator's folder when inside it,
 * and resolved against the worker's folder).
 */
/**
 * The largest result a worker sends back: BullMQ keeps it in Redis as the job's return
 * value (and in the `completed` event), so it is bounded like every other field.
 */
const MAX_CAPTURE_BYTES = 64 * 1024 * 1024;

const payloadSchema = z
  .object({
    v: z.literal(1),
    // a folder name on the worker: letters, digits, `._-`, never `.`/`..` or a path
    runKey: z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/, 'not a run key'),
    name: z.string().min(1).max(1000),
    index: z.number().int().nonnegative(),
    command: z.string().min(1).max(1_000_000),
    /** Direct exec: the program and its arguments (raw bytes escaped as in `bytes.ts`). */
    argv: z.array(z.string().max(1_000_000)).min(1).max(100_000).optional(),
    shell: z.string().min(1).max(4096),
    cwd: z.string().max(4096),
    env: z.record(z.string().regex(/^[^=\0]+$/, 'bad variable name'), z.string()),
    pool: z.string().min(1).max(200).optional(),
    timeoutMs: z.number().int().positive().optional(),
    killGraceMs: z.number().int().nonnegative(),
    /** The pool's `per_worker` cap: at most this many of its jobs at once on one worker. */
    perWorker: z.number().int().positive().optional(),
    /** Re-runs after the job was lost with its worker (`lost_retries`). */
    lostRetries: z.number().int().nonnegative().optional(),
    /** Stream output lines back to the coordinator as they come (`--output stream`). */
    output: z.boolean().optional(),
    /**
     * Send stdout and stderr back apart once the attempt ends (`--output grouped`,
     * `--results`): no line needs jobrun's pipes while the job runs, so the worker
     * may start it through its spawner.
     */
    streams: z.boolean().optional(),
    backoff: z.object({
      delayMs: z.number().nonnegative(),
      factor: z.number().positive(),
      maxMs: z.number().nonnegative(),
      jitter: z.boolean(),
    }),
    /** What the worker keeps of stdout as the attempt's `result` (it travels back with it). */
    capture: z
      .object({
        mode: z.enum(CAPTURE_MODES),
        maxBytes: z.number().int().positive().max(MAX_CAPTURE_BYTES),
      })
      .optional(),
    /** A fan-in's standard input (`stdin: { from }`), NDJSON of its sources' results. */
    stdin: z.string().optional(),
    /** `cache: true`: what the worker needs to look the job up in its own cache. */
    cache: cachePayloadSchema.optional(),
  })
  .strict();

export type JobPayload = z.infer<typeof payloadSchema>;

/**
 * How a job's output comes back from its worker: line by line as it is printed
 * (`lines`, for `--output stream`), or each stream whole after the attempt
 * (`streams`, for grouped output and `--results`).
 */
export type OutputReturn = 'lines' | 'streams';

export function toPayload(
  runKey: string,
  job: JobSpec,
  timeoutMs: number | undefined,
  baseDir: string,
  output?: OutputReturn,
  perWorker?: number,
): JobPayload {
  const rel = path.relative(baseDir, job.cwd);
  const cwd = rel === '' ? '.' : rel.startsWith('..') || path.isAbsolute(rel) ? job.cwd : rel;
  return {
    v: 1,
    runKey,
    name: job.name,
    index: job.index,
    command: job.command,
    ...(job.argv === undefined ? {} : { argv: job.argv }),
    shell: job.shell,
    cwd,
    env: job.env,
    ...(job.pool === undefined ? {} : { pool: job.pool }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    killGraceMs: job.killGraceMs,
    ...(perWorker === undefined ? {} : { perWorker }),
    ...(job.lostRetries === undefined ? {} : { lostRetries: job.lostRetries }),
    ...(output === 'lines' ? { output: true } : output === 'streams' ? { streams: true } : {}),
    backoff: job.backoff,
    ...(job.capture === undefined ? {} : { capture: job.capture }),
    ...(job.stdin === undefined ? {} : { stdin: job.stdin }),
  };
}

/** Validates a payload from the queue; returns a reason when it cannot be run. */
export function parsePayload(data: unknown): { payload: JobPayload } | { reason: string } {
  const parsed = payloadSchema.safeParse(data);
  if (parsed.success) return { payload: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'payload';
  return { reason: `invalid job payload (${where}: ${issue?.message ?? 'unreadable'})` };
}

/** The job as the worker's local executor sees it: cwd resolved against `workerDir`. */
export function specFromPayload(p: JobPayload, workerDir: string): JobSpec {
  return {
    name: p.name,
    command: p.command,
    ...(p.argv === undefined ? {} : { argv: p.argv }),
    index: p.index,
    priority: 0,
    pool: p.pool,
    needs: [],
    killGraceMs: p.killGraceMs,
    retries: 0,
    backoff: p.backoff,
    shell: p.shell,
    cwd: path.resolve(workerDir, p.cwd),
    env: p.env,
    allowFailure: false,
    ...(p.capture === undefined ? {} : { capture: p.capture }),
    ...(p.stdin === undefined ? {} : { stdin: p.stdin }),
  };
}

/** Messages a worker publishes as job progress, in order, on the queue's event stream. */
export type WorkerMessage =
  | {
      kind: 'start';
      attempt: number;
      worker: string;
      pid?: number;
      startedAt: number;
      /** `--explain`: why the worker's cache did not have the job. */
      why?: string[];
    }
  | { kind: 'end'; result: AttemptResult; retryInMs?: number };

const resultSchema = z
  .object({
    attempt: z.number(),
    startedAt: z.number(),
    durationMs: z.number(),
    exitCode: z.number().optional(),
    signal: z.string().optional(),
    timedOut: z.boolean(),
    error: z.string().optional(),
    worker: z.string().optional(),
    outputTail: z.string().optional(),
    logPath: z.string().optional(),
    cached: z.string().max(10_000).optional(),
  })
  .passthrough();

const messageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('start'),
    attempt: z.number(),
    worker: z.string(),
    pid: z.number().optional(),
    startedAt: z.number(),
    why: z.array(z.string().max(10_000)).max(1000).optional(),
  }),
  z.object({ kind: z.literal('end'), result: resultSchema, retryInMs: z.number().optional() }),
]);

/** The coordinator trusts workers no more than workers trust it: messages are checked too. */
export function parseWorkerMessage(data: unknown): WorkerMessage | undefined {
  const parsed = messageSchema.safeParse(data);
  return parsed.success ? (parsed.data as WorkerMessage) : undefined;
}

export function parseResult(data: unknown): AttemptResult | undefined {
  const parsed = resultSchema.safeParse(data);
  return parsed.success ? (parsed.data as AttemptResult) : undefined;
}
