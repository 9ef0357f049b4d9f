/**
 * Reads a manifest (a file, or `-` for stdin), validates it and expands it into a Plan.
 * Every problem found is reported together, each at its file:line:column, in one
 * `ManifestError`; nothing else escapes for bad input.
 */
import { isUtf8 } from 'node:buffer';
import path from 'node:path';
import type { Plan } from '../model/job.js';
import { ManifestError } from '../errors.js';
import { IssueList } from './locate.js';
import { wholeParts } from './parts.js';
import { expandAll } from './plan.js';
import { toPlan, type PlanSource } from './to-plan.js';
import { quickDoc } from './quick-doc.js';
import { readCapped, readWhole } from './read-whole.js';
import { mayDiffer, quickYaml, readsAsWritten } from './quick-yaml.js';

export interface LoadOptions {
  /** Base for a relative `source`, and the jobs' base folder for stdin (default: process.cwd()). */
  cwd?: string;
  /** Where `-` reads from (default: process.stdin). */
  stdin?: NodeJS.ReadableStream;
  /** Whether each job's `cwd` must exist (default true; see `PlanSource`). */
  checkCwd?: boolean;
}

/**
 * Loads the manifest at `source` (`.yaml`, `.yml` or `.json`; JSON is read as YAML, so
 * both keep positions), or reads it whole from stdin when `source` is `-` (issues are
 * labelled `<stdin>`, relative `cwd`s resolve against `opts.cwd`).
 *
 * Throws `UsageError` when the file cannot be read, `ManifestError` with every issue
 * when it is invalid.
 */
export async function loadManifest(source: string, opts: LoadOptions = {}): Promise<Plan> {
  const cwd = opts.cwd ?? process.cwd();
  const { checkCwd } = opts;
  if (source === '-') {
    const text = utf8Text(
      await readCapped(opts.stdin ?? process.stdin, '-', 'manifest', MAX_MANIFEST_BYTES),
      '<stdin>',
    );
    return parseManifest(text, { file: '<stdin>', manifestPath: null, baseDir: cwd, checkCwd });
  }
  const abs = path.resolve(cwd, source);
  const { bytes, pipe } = await readWhole(source, abs, 'manifest', MAX_MANIFEST_BYTES);
  const text = utf8Text(bytes, source);
  if (/\.json$/i.test(source)) checkStrictJson(text, source);
  // a pipe (`<(make-jobs)`) is as stdin: its jobs run here, its journal is its jobs'
  if (pipe)
    return parseManifest(text, { file: source, manifestPath: null, baseDir: cwd, checkCwd });
  return parseManifest(text, {
    file: source,
    manifestPath: abs,
    baseDir: path.dirname(abs),
    checkCwd,
  });
}

/** The largest manifest read (a 100,000-job manifest is about 10 MB). */
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024;

/**
 * A `.json` manifest is JSON: YAML would accept trailing commas, single quotes and
 * comments, which other JSON tools then choke on. Its first error is reported at
 * its line and column; valid JSON then goes the usual way (YAML keeps positions).
 */
function checkStrictJson(text: string, file: string): void {
  try {
    JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const offset = at ? Number(at[1]) : text.length;
    const before = text.slice(0, offset).split('\n');
    throw new ManifestError([
      {
        file,
        line: before.length,
        column: (before.at(-1)?.length ?? 0) + 1,
        message: `not valid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
      },
    ]);
  }
}

export interface ParseOptions extends PlanSource {
  /** Try the fast pass without positions first (default true; tests compare both). */
  fast?: boolean;
}

/**
 * Validates and expands manifest text (YAML or JSON); see `loadManifest`.
 *
 * Two ways, for speed. A valid manifest is read by js-yaml, which keeps no source
 * positions and is several times faster and smaller than yaml's document model (a
 * 100,000-job manifest: about 1 s instead of 10), and checked by `quickDoc`, which
 * needs no zod. Only when either is not sure is the text read again the careful way
 * (`careful.ts`), with positions and the schema, to report every issue at its
 * line:column. Tests check that both ways give the same plan.
 */
export async function parseManifest(text: string, opts: ParseOptions): Promise<Plan> {
  const source = text.replace(/^\uFEFF/, '');
  if (opts.fast !== false) {
    const plan = await quickPlan(source, opts);
    if (plan) return plan;
  }
  const { carefulPlan } = await import('./careful.js');
  return carefulPlan(source, opts);
}

/** The quick way: the plan when the manifest is surely valid, else undefined. */
async function quickPlan(source: string, opts: ParseOptions): Promise<Plan | undefined> {
  if (mayDiffer(source)) return undefined;
  let data: unknown;
  try {
    data = quickYaml(source);
  } catch {
    return undefined;
  }
  const doc = quickDoc(data, () => readsAsWritten(source));
  if (doc === undefined) return undefined;
  const list = new IssueList(opts.file);
  const expansion = await expandAll(wholeParts(doc), opts, list);
  return list.issues.length ? undefined : toPlan(doc, expansion, opts);
}

/**
 * A manifest is UTF-8 text. Other bytes are refused at their line and column: decoded,
 * each would silently become U+FFFD, and a job would run with other bytes than written.
 */
function utf8Text(bytes: Buffer, file: string): string {
  const text = bytes.toString('utf8');
  if (isUtf8(bytes)) return text;
  // the first U+FFFD that is no U+FFFD in the file is where it went wrong
  let at = 0;
  let offset = 0;
  for (const char of text) {
    if (char === '\uFFFD' && !bytes.subarray(offset, offset + 3).equals(REPLACEMENT)) break;
    at += char.length;
    offset += Buffer.byteLength(char);
  }
  const before = text.slice(0, at).split('\n');
  const byte = bytes[offset] ?? 0;
  const hex = byte.toString(16).toUpperCase().padStart(2, '0');
  throw new ManifestError([
    {
      file,
      line: before.length,
      column: before.at(-1)!.length + 1,
      message:
        `byte 0x${hex} is not UTF-8: a manifest is UTF-8 text ` +
        `(a job's command can make the byte with printf '\\${byte.toString(8)}')`,
    },
  ]);
}

/** U+FFFD as UTF-8. */
const REPLACEMENT = Buffer.from('\uFFFD');
