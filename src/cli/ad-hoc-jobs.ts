/**
 * Ad-hoc jobs: the words after `--` split into the command and its `:::`/`::::`
 * sources (GNU parallel's spellings), and one job per input item or batch of items.
 */
import { UsageError } from '../errors.js';
import type { JobSpec } from '../model/job.js';
import { adHocJob, type AdHocBase, type BuiltCommand } from '../manifest/adhoc.js';
import { batchItems, batchName, commandBytes, type BatchOptions } from '../manifest/batch.js';
import type { Item } from '../manifest/placeholders.js';
import type { Source } from '../manifest/sources.js';

const SEPARATORS = new Set([':::', '::::']);

/**
 * The words after `--`: the command, then `::: values…` and `:::: files…` groups
 * (each value list is one source; each file of a `::::` group is one source).
 */
export function splitSources(words: string[]): { command: string[]; sources: Source[] } {
  const first = words.findIndex((w) => SEPARATORS.has(w) || w === ':::+' || w === '::::+');
  if (first === -1) return { command: words, sources: [] };
  const sources: Source[] = [];
  let kind = '';
  for (const word of words.slice(first)) {
    if (word === ':::+' || word === '::::+') {
      throw new UsageError(`${word} is not supported; use --link to pair all sources`);
    }
    if (SEPARATORS.has(word)) {
      kind = word;
      if (kind === ':::') sources.push({ values: [] });
      continue;
    }
    if (kind === ':::') (sources.at(-1) as { values: string[] }).values.push(word);
    else sources.push({ file: word });
  }
  if (sources.length === 0 || (kind === '::::' && !sources.some((s) => 'file' in s))) {
    throw new UsageError(':::: needs at least one file (- for stdin)');
  }
  return { command: words.slice(0, first), sources };
}

/** One job per item, or per batch of items when batching. */
export async function* itemJobs(
  items: AsyncIterable<Item> | Iterable<Item>,
  batching: BatchOptions | undefined,
  template: (item: Item, index: number) => BuiltCommand,
  base: AdHocBase,
): AsyncGenerator<JobSpec> {
  let index = 0;
  if (batching === undefined) {
    for await (const item of items) {
      yield adHocJob(item.args.join(' '), index, template(item, index + 1), base);
      index++;
    }
    return;
  }
  const size = (item: Item) => {
    const built = template(item, 1);
    return commandBytes(built.command, built.argv);
  };
  for await (const batch of batchItems(items, { ...batching, size })) {
    const { members } = batch;
    yield adHocJob(batchName(members), index, template(batch, index + 1), base, members);
    index++;
  }
}

export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
