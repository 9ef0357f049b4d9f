/**
 * Captured results: what a job printed on stdout, kept as data for the report and for
 * the next stage of a pipeline. Pure functions over bytes; the executor calls them
 * once an attempt's stdout is complete, so a local run and a Redis worker agree.
 */
import { decodeBytes } from './bytes.js';

/** `stdout`: the text as is; `lines`: an array of lines; `json`: stdout parsed as JSON. */
export type CaptureMode = 'stdout' | 'json' | 'lines';
export const CAPTURE_MODES: readonly CaptureMode[] = ['stdout', 'json', 'lines'];

/** How much of a job's stdout is kept when no limit is given: 1 MiB. */
export const DEFAULT_CAPTURE_BYTES = 1024 * 1024;

/** What a job captures, and the most bytes of its stdout that are kept. */
export interface CaptureSpec {
  mode: CaptureMode;
  maxBytes: number;
}

/** A JSON value, as `capture: json` produces it. */
type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A captured result: a string (`stdout`), lines (`lines`) or any JSON value (`json`). */
export type CapturedResult = JsonValue;

/** What a job that succeeded in an earlier run (`--resume`) left: its result, if it captured one. */
export interface EarlierSuccess {
  result?: CapturedResult;
  resultTruncated?: true;
}

/** The outcome of turning stdout into a result. */
export interface Captured {
  result?: CapturedResult;
  /** Set when stdout was longer than `maxBytes` and the result holds only its start. */
  truncated?: true;
  /** Set when the result could not be made (bad JSON): the attempt fails with it. */
  error?: string;
}

/**
 * Makes the result from the first bytes of stdout (`bytes`, at most `maxBytes`), `cut`
 * when stdout was longer. Bytes that are not UTF-8 are kept the surrogateescape way.
 * A cut `lines` result drops the partial last line; a cut `json` result cannot be
 * parsed and fails the attempt, saying so.
 */
export function captureResult(spec: CaptureSpec, bytes: Buffer, cut: boolean): Captured {
  const truncated = cut ? ({ truncated: true } as const) : {};
  if (spec.mode === 'json') {
    if (cut) {
      return {
        error: `capture json: stdout is longer than ${spec.maxBytes} bytes (raise the limit with --capture-max or capture_max)`,
      };
    }
    const text = bytes.toString('utf8').trim();
    try {
      return { result: JSON.parse(text) as JsonValue };
    } catch (err) {
      const why = text === '' ? 'stdout is empty' : (err as Error).message;
      return { error: `capture json: stdout is not JSON (${why})` };
    }
  }
  if (spec.mode === 'stdout') return { result: decodeBytes(bytes), ...truncated };
  let text = decodeBytes(bytes);
  if (cut) {
    const nl = text.lastIndexOf('\n');
    text = nl === -1 ? '' : text.slice(0, nl + 1);
  }
  return { result: splitLines(text), ...truncated };
}

/** Lines without their newline (and a `\r` before it); no empty last line. */
export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/**
 * The items a result gives a `for_each: { from: JOB }` stage: an array's elements
 * (strings as they are, anything else as JSON), or a string's lines. Anything else
 * (a JSON object or number) has no items: `undefined`.
 */
export function resultItems(result: CapturedResult | undefined): string[] | undefined {
  if (typeof result === 'string') return splitLines(result);
  if (!Array.isArray(result)) return undefined;
  return result.map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
}
