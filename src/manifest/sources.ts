/**
 * Input sources, GNU parallel's way: `::: a b` (values), `:::: file` (a file's records;
 * `-` is stdin), or stdin alone. Each source gives rows (its records, split into
 * columns by `--colsep` or `--csv`); several sources are combined into every
 * combination (first source outermost), or paired with `--link`. With `--header`, the
 * first row of each source names its columns for `{name}` placeholders.
 *
 * All bytes survive: records are split at the byte level and decoded with
 * `decodeBytes`. The first source is streamed (stdin stays lazy for `--max-queue`);
 * the others are read whole, since every combination needs them again.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { decodeBytes } from '../model/bytes.js';
import type { Item } from './placeholders.js';
import { readRecords } from './records.js';

/** Values given on the command line, or a file of records (`-`: stdin). */
export type Source = { values: string[] } | { file: string };

export interface InputOptions {
  /** Record separator (default `\n`; `-0` gives NUL). */
  delimiter?: Buffer;
  /** Splits each record into columns `{1}`…`{n}`. */
  colsep?: RegExp;
  /** Records are CSV rows (quoted fields may hold separators and newlines). */
  csv?: boolean;
  /** The first row of each source names its columns. */
  header?: boolean;
  /** Pair the sources' rows instead of taking every combination. */
  link?: boolean;
}

/** The items of `sources` combined; `stdin` is read for a `-` file. */
export async function* combineSources(
  sources: Source[],
  options: InputOptions,
  stdin: Readable = process.stdin,
): AsyncGenerator<Item> {
  const streams = sources.map((s) => sourceRows(s, options, stdin));
  const names: string[][] = [];
  if (options.header) {
    for (const rows of streams) {
      const first = await rows.next();
      names.push(first.done ? [] : first.value);
    }
  }
  const toItem = (rows: string[][]): Item => {
    const item: Item = { args: rows.flat() };
    if (options.header) {
      const named: Record<string, string> = {};
      rows.forEach((row, s) => names[s]!.forEach((n, c) => (named[n] = row[c] ?? '')));
      item.named = named;
    }
    return item;
  };
  if (streams.length === 1) {
    for await (const row of asIterable(streams[0]!)) yield toItem([row]);
    return;
  }
  if (options.link) {
    const all = await Promise.all(streams.map((s) => collect(s)));
    const longest = Math.max(...all.map((rows) => rows.length));
    for (let i = 0; i < longest; i++) {
      // shorter sources wrap around, as with parallel's --link
      yield toItem(all.map((rows) => rows[i % rows.length] ?? []));
    }
    return;
  }
  const rest = await Promise.all(streams.slice(1).map((s) => collect(s)));
  for await (const row of asIterable(streams[0]!)) {
    for (const combo of product(rest)) yield toItem([row, ...combo]);
  }
}

/** Every combination of one row from each list, the last list varying fastest. */
function* product(lists: string[][][]): Generator<string[][]> {
  if (lists.length === 0) {
    yield [];
    return;
  }
  const [first, ...others] = lists;
  for (const row of first!) for (const tail of product(others)) yield [row, ...tail];
}

/** A source's rows: one per record, split into columns. */
async function* sourceRows(
  source: Source,
  options: InputOptions,
  stdin: Readable,
): AsyncGenerator<string[]> {
  if ('values' in source) {
    for (const v of source.values) yield splitColumns(v, options);
    return;
  }
  const stream = source.file === '-' ? stdin : createReadStream(source.file);
  if (options.csv) {
    yield* csvRows(stream, options);
    return;
  }
  const what = source.file === '-' ? 'stdin line' : `${source.file}: line`;
  for await (const record of readRecords(stream, options.delimiter, what)) {
    yield splitColumns(record, options);
  }
}

function splitColumns(record: string, options: InputOptions): string[] {
  return options.colsep ? record.split(options.colsep) : [record];
}

/**
 * CSV rows of a byte stream, parsed by csv-parse as it streams (a quoted field may
 * hold the separator and newlines). Fields stay bytes until `decodeBytes`. The
 * separator is `--colsep` when it is one plain character, else a comma.
 */
async function* csvRows(stream: Readable, options: InputOptions): AsyncGenerator<string[]> {
  const { parse } = await import('csv-parse'); // loaded only for CSV input
  const sep = options.colsep?.source;
  const parser = parse({
    encoding: null as unknown as BufferEncoding,
    delimiter: sep !== undefined && sep.length === 1 ? sep : ',',
    relax_column_count: true,
    skip_empty_lines: true,
  });
  stream.on('error', (err) => parser.destroy(err));
  stream.pipe(parser);
  for await (const row of parser as AsyncIterable<Buffer[]>) {
    yield row.map((field) => decodeBytes(field));
  }
}

async function collect<T>(it: AsyncIterator<T>): Promise<T[]> {
  const out: T[] = [];
  for (let r = await it.next(); !r.done; r = await it.next()) out.push(r.value);
  return out;
}

function asIterable<T>(it: AsyncIterator<T>): AsyncIterable<T> {
  return { [Symbol.asyncIterator]: () => it };
}
