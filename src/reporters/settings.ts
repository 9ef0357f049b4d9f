import type { OutputPressure } from './output-pressure.js';

/**
 * What the output flags say, as one value with every field required: the flags are
 * parsed into it once (`cli/flags/run-options.ts`), and `pickReporters` takes it apart
 * field by field. A new output flag is a new field here; the type checker then refuses
 * the parser that does not set it and the picker that does not use it.
 */

/** Job output in the terminal: `[name]` lines as they come, whole jobs as they end, or none. */
export type OutputMode = 'stream' | 'grouped' | 'none';
export const OUTPUT_MODES: readonly OutputMode[] = ['stream', 'grouped', 'none'];

/** `auto`: the live view on a terminal outside CI, plain lines otherwise. */
export type ProgressMode = 'auto' | 'tty' | 'plain' | 'none';
export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'tty', 'plain', 'none'];

/** `auto`: the one-line summary when an ad-hoc run's jobs all succeeded, else the table too. */
export type SummaryMode = 'auto' | 'table' | 'line';
export const SUMMARY_MODES: readonly SummaryMode[] = ['auto', 'table', 'line'];

export interface OutputSettings {
  /** `--json`: the report on stdout. At most one of `json` and `events`. */
  readonly json: boolean;
  /** `--events`: NDJSON events on stdout. */
  readonly events: boolean;
  readonly report: string | undefined;
  readonly junit: string | undefined;
  readonly html: string | undefined;
  /** `--results DIR`: per-job stdout, stderr and meta.json files. */
  readonly results: string | undefined;
  /** `--output`; undefined: the run's default (see `jobOutputMode`). */
  readonly output: OutputMode | undefined;
  /** `-k`: grouped output in input order. */
  readonly keepOrder: boolean;
  /** `--tag`: every output line starts with its job's name and a tab, as GNU parallel's. */
  readonly tag: boolean;
  readonly progress: ProgressMode;
  /** `--bar`: one line of progress on the terminal, nothing else. */
  readonly bar: boolean;
  /** `--eta`: the estimated time left, also in plain progress lines. */
  readonly eta: boolean;
  readonly summary: SummaryMode;
}

/** What the run itself tells the reporters: not flags, but facts about this run. */
export interface RunShape {
  /** Jobs from `--glob`, `--stdin` or `:::` rather than a manifest. */
  readonly adHoc: boolean;
  /** The manifest's `output:`, if it set one. */
  readonly manifestOutput: OutputMode | undefined;
  /** The command line that resumes this run, shown when it is interrupted. */
  readonly resumeCommand: string | undefined;
  /** The longest kill grace of the run's jobs, for the "stopping" line. */
  readonly killGraceMs: number;
  /** The run's output falling behind its reader (see `OutputPressure`), told of grouped copies waiting. */
  readonly pressure?: OutputPressure;
}

/**
 * Where job output goes when `--output` does not say: like GNU parallel, on stdout for
 * ad-hoc runs and whenever stdout is not a terminal (it is data for the next command);
 * a manifest run on a terminal keeps it in its logs unless the manifest sets `output:`.
 * When stdout carries JSON, job output is shown only when asked for.
 */
export function jobOutputMode(
  settings: Pick<OutputSettings, 'output' | 'json' | 'events' | 'keepOrder'>,
  shape: Pick<RunShape, 'adHoc' | 'manifestOutput'>,
  stdoutIsTTY: boolean,
): OutputMode {
  if (settings.output !== undefined) return settings.output;
  if (settings.keepOrder) return 'grouped'; // -k orders grouped output
  if (settings.json || settings.events) return 'none';
  if (shape.manifestOutput !== undefined) return shape.manifestOutput;
  return shape.adHoc || !stdoutIsTTY ? 'grouped' : 'none';
}
