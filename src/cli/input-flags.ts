/**
 * The input flags of ad-hoc runs (GNU parallel's and xargs' spellings), turned into
 * source, batching and job settings: `:::`/`::::` sources after `--`, `-0`/`-d`,
 * `--colsep`, `--header`, `--csv`, `--link`, `-n`, `-X`.
 */
import { UsageError } from '../errors.js';
import type { JobSpec } from '../model/job.js';
import { adHocJob, type AdHocBase, type BuiltCommand } from '../manifest/adhoc.js';
import {
  argLimit,
  batchItems,
  batchName,
  commandBytes,
  type BatchOptions,
} from '../manifest/batch.js';
import type { Item } from '../manifest/placeholders.js';
import { parseDelimiter } from '../manifest/records.js';
import type { InputOptions, Source } from '../manifest/sources.js';
import { parseCount } from './options.js';

export interface InputFlags {
  null?: boolean;
  delimiter?: string;
  colsep?: string;
  header?: string;
  csv?: boolean;
  link?: boolean;
  maxArgs?: string;
  xargs?: boolean;
}

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

export function inputOptions(flags: InputFlags): InputOptions {
  if (flags.null && flags.delimiter !== undefined)
    throw new UsageError('use either -0 or --delimiter, not both');
  const options: InputOptions = {};
  if (flags.null) options.delimiter = Buffer.of(0);
  if (flags.delimiter !== undefined) {
    options.delimiter = parseDelimiter(flags.delimiter);
    if (options.delimiter.length === 0) throw new UsageError('--delimiter must not be empty');
  }
  if (flags.colsep !== undefined) {
    try {
      options.colsep = new RegExp(flags.colsep);
    } catch (err) {
      throw new UsageError(
        `--colsep "${flags.colsep}" is not a regular expression: ${(err as Error).message}`,
      );
    }
  }
  if (flags.csv) options.csv = true;
  if (flags.header !== undefined || flags.csv) options.header = true;
  if (flags.link) options.link = true;
  return options;
}

export function batchOptions(flags: InputFlags): BatchOptions | undefined {
  if (flags.maxArgs === undefined && !flags.xargs) return undefined;
  const options: BatchOptions = {};
  if (flags.maxArgs !== undefined) {
    options.maxItems = parseCount(flags.maxArgs, '-n');
    if (options.maxItems < 1) throw new UsageError('-n must be at least 1');
  }
  if (flags.xargs) options.maxBytes = argLimit();
  return options;
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
