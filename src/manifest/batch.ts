/**
 * Batching, the reason xargs is fast on small files: several items per job, so one
 * process handles many. `-n N` puts at most N items in a batch; `-X` as many as fit
 * the system's argument limit (`argLimit`), measured on the command each batch
 * would run. A batch is one `Item` whose args are all its items' args (so `{}` is
 * every item, each quoted), plus the items themselves for reports.
 */
import { spawnSync } from 'node:child_process';
import { encodeBytes } from '../model/bytes.js';
import type { Item } from './placeholders.js';

export interface Batch extends Item {
  /** Each item of the batch, as shown in reports (its args joined by spaces). */
  members: string[];
}

export interface BatchOptions {
  /** At most this many items per batch. */
  maxItems?: number;
  /** At most this many bytes of command per batch, as `size` counts them. */
  maxBytes?: number;
  /** Bytes the command of a batch takes. */
  size?: (batch: Item) => number;
}

/** Groups `items` into batches, in order, streaming (one batch is held at a time). */
export async function* batchItems(
  items: AsyncIterable<Item> | Iterable<Item>,
  options: BatchOptions,
): AsyncGenerator<Batch> {
  const { maxItems = Infinity, maxBytes = Infinity, size } = options;
  // What an empty batch costs, and each item's own cost (its command minus the empty one).
  const empty = size?.({ args: [] }) ?? 0;
  let batch: Batch = { args: [], members: [] };
  let bytes = empty;
  for await (const item of items) {
    const cost = size ? size(item) - empty + 1 : 0;
    if (batch.members.length > 0 && (batch.members.length >= maxItems || bytes + cost > maxBytes)) {
      yield batch;
      batch = { args: [], members: [] };
      bytes = empty;
    }
    batch.args.push(...item.args);
    batch.members.push(item.args.join(' '));
    bytes += cost;
  }
  if (batch.members.length > 0) yield batch;
}

/**
 * The bytes a command may take, like xargs: `getconf ARG_MAX` less the environment
 * the job gets (each variable and its pointer) and 2 KiB of headroom, and at most
 * 128 KiB, the most Linux takes in one argument (a shell line is one argument of
 * `sh -c`) and xargs' own default.
 */
export function argLimit(env: NodeJS.ProcessEnv = process.env): number {
  let argMax = 131_072;
  try {
    const out = spawnSync('getconf', ['ARG_MAX'], { encoding: 'utf8' }).stdout.trim();
    if (/^\d+$/.test(out)) argMax = Number(out);
  } catch {
    // no getconf: POSIX's floor is far below Linux's, so keep the 128 KiB guess
  }
  let envBytes = 0;
  for (const [k, v] of Object.entries(env)) envBytes += k.length + (v?.length ?? 0) + 2 + 8;
  return Math.max(4096, Math.min(argMax - envBytes - 2048, 128 * 1024 - 1));
}

/** Bytes of a command line or argv as the kernel counts them (a NUL and a pointer per arg). */
export function commandBytes(command: string, argv?: string[]): number {
  if (argv === undefined) return rawCost(command) + 1;
  return argv.reduce((n, a) => n + rawCost(a) + 1 + 8, 0);
}

/** An escaped raw byte is written `\ooo` when the command goes through the shell wrapper. */
function rawCost(s: string): number {
  const len = encodeBytes(s).length;
  const raw = s.match(/[\uDC80-\uDCFF]/g)?.length ?? 0;
  return len + raw * 3;
}

/** A batch job's name: its only item, or its first and last items and how many. */
export function batchName(members: string[]): string {
  if (members.length === 1) return members[0]!;
  return `${members[0]} … ${members.at(-1)} (${members.length} items)`;
}
