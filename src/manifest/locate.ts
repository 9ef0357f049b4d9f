/**
 * Maps paths in the parsed manifest (`['jobs', 2, 'timeout']`) back to line:column in
 * the source text, and collects the issues that the loader reports together.
 */
import type * as Yaml from 'yaml';
import type { ManifestIssue } from '../errors.js';
import { quoteBraceHint } from './yaml-hints.js';

/** A path into the manifest as parsed: object keys and array indexes. */
export type DocPath = readonly PropertyKey[];

interface Located {
  /** The deepest node on the path that exists. */
  node: unknown;
  /** The key node of the last map entry walked into, if any. */
  key: unknown;
  /** True when the whole path was found. */
  found: boolean;
}

/**
 * A parsed document with its positions, and the `yaml` module that made it: passed
 * in, so that valid manifests (read by the fast pass) never load `yaml` at all.
 */
export interface PositionedDoc {
  /** The manifest's text, for hints that show a line of it rewritten. */
  text: string;
  doc: Yaml.Document;
  lineCounter: Yaml.LineCounter;
  yaml: typeof Yaml;
}

/**
 * Collects positioned issues for one manifest source. Without a `PositionedDoc`
 * (the fast pass) it only counts them: every issue sits at 1:1.
 */
export class IssueList {
  readonly issues: ManifestIssue[] = [];

  constructor(
    readonly file: string,
    private readonly source?: PositionedDoc,
  ) {}

  /**
   * Adds an issue at the node `path` names, or at the deepest part of `path` that
   * exists (a missing key is reported at the map that lacks it). With `atKey`, the
   * position is the map key itself rather than its value (for unknown keys).
   */
  add(path: DocPath, message: string, atKey = false): void {
    const { node, key, found } = this.locate(path);
    const target = atKey && found && key !== undefined ? key : node;
    this.addAt(rangeStart(target), message);
  }

  /** Adds an issue at a character offset into the source. */
  addAt(offset: number | undefined, message: string): void {
    const { line, col } =
      offset === undefined || this.source === undefined
        ? { line: 1, col: 1 }
        : this.source.lineCounter.linePos(offset);
    this.issues.push({ file: this.file, line, column: col, message });
  }

  /** The 1-based line of the node at `path` (or its deepest existing ancestor). */
  lineOf(path: DocPath): number {
    const offset = rangeStart(this.locate(path).node);
    return offset === undefined || this.source === undefined
      ? 1
      : this.source.lineCounter.linePos(offset).line;
  }

  /**
   * The "must be quoted" hint when the node at `path` is a flow mapping of bare words:
   * YAML reads `run: {file}` as the mapping `{file: null}`, though a placeholder was
   * meant. A mapping with values (`{a: 1}`) was meant as one: no hint.
   */
  braceHint(path: DocPath): string | undefined {
    if (this.source === undefined) return undefined;
    const { node, found } = this.locate(path);
    if (!found || !this.source.yaml.isMap(node) || !node.flow) return undefined;
    if (node.items.some((pair) => pair.value !== null)) return undefined;
    const offset = rangeStart(node);
    return offset === undefined ? undefined : quoteBraceHint(this.source.text, offset);
  }

  private locate(path: DocPath): Located {
    if (this.source === undefined) return { node: undefined, key: undefined, found: false };
    const { isMap, isScalar, isSeq } = this.source.yaml;
    let node: unknown = this.resolve(this.source.doc.contents);
    let key: unknown;
    for (const seg of path) {
      if (isMap(node) && typeof seg === 'number') {
        // `jobs:` as a mapping is read as a list (`job-map.ts`): the i-th job is the i-th entry
        const pair = node.items[seg];
        if (!pair) return { node, key, found: false };
        key = pair.key;
        node = this.resolve(pair.value ?? pair.key);
      } else if (isMap(node)) {
        const pair =
          node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg)) ??
          node.items.find(
            (p) => !isScalar(p.key) && compact(String(p.key)) === compact(String(seg)),
          );
        if (!pair) return { node, key, found: false };
        key = pair.key;
        node = this.resolve(pair.value ?? pair.key);
      } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
        key = undefined;
        node = this.resolve(node.items[seg]);
      } else {
        return { node, key, found: false };
      }
    }
    return { node, key, found: true };
  }

  private resolve(node: unknown): unknown {
    const source = this.source;
    if (source === undefined || !source.yaml.isAlias(node)) return node;
    return node.resolve(source.doc) ?? node;
  }
}

/** Collection keys are stringified differently by toJS and toString: compare loosely. */
function compact(text: string): string {
  return text.replace(/[\s"']/g, '');
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: unknown } | null | undefined)?.range;
  return Array.isArray(range) && typeof range[0] === 'number' ? range[0] : undefined;
}
