/**
 * What `jobrun retry` reads of a report: the file checked against the report's shape,
 * so a hand-edited one is a clear error (exit 2) rather than a crash, and a job as the
 * report alone describes it, for when the manifest is gone.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import { defaultShell } from '../manifest/default-shell.js';
import { readWhole } from '../manifest/read-whole.js';
import type { JobSpec } from '../model/job.js';
import type { CapturedResult } from '../model/result.js';
import type { ReportJob } from '../reporters/report.js';

/** The most a report may hold: the longest string JavaScript has (about 512 MiB). */
const MAX_REPORT_BYTES = 512 * 1024 * 1024;

export async function readReport(file: string): Promise<ReportShape> {
  const { bytes } = await readWhole(file, path.resolve(file), 'report', MAX_REPORT_BYTES);
  const text = bytes.toString();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not a jobrun report (not JSON)`);
  }
  const { z } = await import('zod'); // loaded only when a report is read
  const status = z.enum(['succeeded', 'cached', 'failed', 'timed_out', 'skipped', 'cancelled']);
  const schema = z.object({
    version: z.literal(1),
    manifest: z.string().nullable().optional(),
    resume: z.string().optional(),
    jobs: z.array(
      z.object({
        name: z.string(),
        command: z.string(),
        status,
        priority: z.number().int().optional(),
        pool: z.string().optional(),
        reason: z.string().optional(),
        needs: z.array(z.string()).optional(),
        stdinFrom: z.array(z.string()).optional(),
        cwd: z.string().optional(),
        allowFailure: z.boolean().optional(),
        excluded: z.boolean().optional(),
        stage: z.string().optional(),
        // what a re-driven stage or fan-in reads of a source that succeeded
        result: z.json().nullable().optional(),
        resultTruncated: z.literal(true).optional(),
      }),
    ),
  });
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? issue.path.join('.') : 'the document';
    throw new UsageError(`${file} is not a jobrun report: ${where}: ${issue.message}`);
  }
  return parsed.data;
}

/** What a re-drive reads of a report: checked, so a hand-edited file cannot crash it. */
export interface ReportShape {
  manifest?: string | null;
  /** The command that resumes the run the report is of (reports before it have none). */
  resume?: string;
  jobs: RetryJob[];
}

export type RetryJob = Pick<ReportJob, 'name' | 'command' | 'status'> &
  Partial<
    Pick<
      ReportJob,
      | 'priority'
      | 'pool'
      | 'reason'
      | 'needs'
      | 'stdinFrom'
      | 'cwd'
      | 'shell'
      | 'allowFailure'
      | 'excluded'
      | 'stage'
      | 'resultTruncated'
    >
  > & { result?: CapturedResult | null };

/** A reported job run again without its manifest: the report's fields, defaults for the rest. */
export function fromReport(job: RetryJob, index: number): JobSpec {
  return {
    name: job.name,
    command: job.command,
    index,
    priority: job.priority ?? 0,
    pool: undefined,
    needs: job.needs ?? [],
    ...(job.stdinFrom && { stdinFrom: job.stdinFrom }),
    killGraceMs: 5000,
    retries: 0,
    backoff: { delayMs: 1000, factor: 2, maxMs: 60_000, jitter: true },
    shell: job.shell ?? defaultShell(),
    cwd: job.cwd ?? '',
    env: {},
    allowFailure: job.allowFailure ?? false,
  };
}
