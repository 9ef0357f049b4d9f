import { z } from 'zod';
import { CANCEL_BATCH } from './limits.js';

/**
 * What a control socket understands: one JSON object per line, each one of these
 * verbs and nothing else. No message can run a command or name a file: a job is
 * named by its name, a pool by its name, a count is a bounded integer.
 */
const name = z.string().min(1).max(4096);
/** As many as `-j` allows (the flag's cap). */
const size = (min: number) => z.number().int().min(min).max(10_000);
const pool = name.optional();

const requestSchema = z.discriminatedUnion('verb', [
  z.object({ verb: z.literal('status') }).strict(),
  z.object({ verb: z.literal('watch') }).strict(),
  z.object({ verb: z.literal('logs'), job: name }).strict(),
  z.object({ verb: z.literal('pause'), pool }).strict(),
  z.object({ verb: z.literal('unpause'), pool }).strict(),
  z
    .object({
      verb: z.literal('scale'),
      workers: size(1).optional(),
      pools: z.record(name, size(0)).optional(),
    })
    .strict(),
  z.object({ verb: z.literal('cancel'), jobs: z.array(name).min(1).max(CANCEL_BATCH) }).strict(),
  z.object({ verb: z.literal('drain') }).strict(),
]);

export type ControlRequest = z.infer<typeof requestSchema>;

/** The first (for most verbs, the only) line of every answer. */
export type ControlReply = ({ ok: true } & Record<string, unknown>) | { ok: false; error: string };

/** Parses one request line; the error says what was wrong, for the client to show. */
export function parseRequest(line: string): ControlRequest | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { error: 'not JSON' };
  }
  const parsed = requestSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  return { error: `not a control request: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
}
