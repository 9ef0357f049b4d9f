import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { misspeltPlaceholders, parallelOnlyPlaceholders } from '../manifest/placeholder-check.js';
import type { InputOptions, Source } from '../manifest/sources.js';
import type { JobSpec } from '../model/job.js';
import { nulByteProblem } from '../model/nul-bytes.js';

/**
 * Jobs known before the run starts (a manifest, `:::` values, `--glob`) that no
 * executor could start are a usage error (exit 2), named by their item, before any job
 * runs. A streamed job with the same problem fails on its own with the same reason.
 */
export function refuseUnstartable(jobs: readonly JobSpec[]): void {
  for (const job of jobs) {
    const problem = nulByteProblem(job);
    if (problem === undefined) continue;
    // an item names the job well enough; anything else says which job
    throw new UsageError(
      problem.startsWith('item ') ? problem : `job ${jobLabel(job)}: ${problem}`,
    );
  }
}

function jobLabel(job: JobSpec): string {
  return `"${job.name.replaceAll('\0', '\\0')}"`;
}

/**
 * A stdin the run is to read must be readable: Node reads a directory given as stdin
 * (`< /`) as empty, which would run no job and exit 0, and a closed stdin as nothing.
 */
export function checkStdin(): void {
  let stat: fs.Stats;
  try {
    stat = fs.fstatSync(0);
  } catch (err) {
    throw new UsageError(`cannot read stdin: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  if (stat.isDirectory()) throw new UsageError('cannot read stdin: it is a directory (EISDIR)');
}

/**
 * Every `:::: file` must be there to read before the run starts: the error Node gives
 * halfway through reading one would surface as an internal bug. Only the path is
 * checked, not opened: a FIFO (`:::: <(cmd)`) must wait for its writer as it streams.
 */
export function checkSourceFiles(sources: readonly Source[]): void {
  for (const source of sources) {
    if (!('file' in source) || source.file === '-') continue;
    const why = unreadable(source.file);
    if (why !== undefined) throw new UsageError(`cannot read :::: ${source.file}: ${why}`);
  }
}

function unreadable(file: string): string | undefined {
  try {
    if (fs.statSync(file).isDirectory()) return 'it is a directory (EISDIR)';
    fs.accessSync(file, fs.constants.R_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const why = REASONS[code];
    return why === undefined ? code : `${why} (${code})`;
  }
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file',
  EACCES: 'permission denied',
};

/**
 * `{itme}` in an ad-hoc command would stay literal text, and with no placeholder left
 * the item would be appended (`echo {itme} a`): a usage error with a "did you mean",
 * as in a manifest; also GNU parallel's `{%}` and `{##}`, which jobrun does not have.
 * With `--header` or `--csv` the input names its columns, so only those two are checked.
 */
export function checkCommandPlaceholders(command: readonly string[], input: InputOptions): void {
  const check = input.header
    ? parallelOnlyPlaceholders
    : (word: string) => misspeltPlaceholders(word, []);
  const [problem] = command.flatMap(check);
  if (problem !== undefined) throw new UsageError(`the command after --: ${problem}`);
}
