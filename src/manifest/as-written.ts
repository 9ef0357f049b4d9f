/**
 * Values that reach a job as text keep the text they were written with.
 *
 * YAML reads `PYTHON_VERSION: 3.10` as the number 3.1, `MODE: 0755` as 755, `V: 1e3` as
 * 1000 and `B: True` as true; turned back into text they would reach the job as `3.1`,
 * `755`, `1000` and `true`. An `env` value, and an item of a `for_each` list or matrix,
 * is text to the job, so the careful reader replaces such a plain scalar by its source
 * text before the document becomes data. The quick reader cannot see that text: it is
 * not sure when a number or boolean might be written otherwise than it reads back
 * (`quick-yaml.ts`).
 */
import type * as Yaml from 'yaml';

type YamlModule = typeof Yaml;

/** Replaces, in `doc`, each env value and `for_each` item read as a number (or boolean) by its text. */
export function keepWritten(doc: Yaml.Document, yaml: YamlModule): void {
  const { isMap, isSeq } = yaml;
  const own = (node: unknown) => (yaml.isAlias(node) ? node.resolve(doc) : node);
  const top = own(doc.contents);
  if (!isMap(top)) return;
  const defaults = own(top.get('defaults', true));
  if (isMap(defaults)) env(defaults);
  const jobs = own(top.get('jobs', true));
  if (!isSeq(jobs) && !isMap(jobs)) return;
  for (const entry of jobs.items) {
    const job = own(yaml.isPair(entry) ? entry.value : entry);
    if (!isMap(job)) continue;
    env(job);
    const forEach = ownCopy(job, 'for_each');
    if (isSeq(forEach)) texts(forEach, false);
    if (!isMap(forEach)) continue;
    const matrix = ownCopy(forEach, 'matrix');
    if (!isMap(matrix)) continue;
    for (const pair of matrix.items) {
      if (yaml.isAlias(pair.value)) pair.value = copy(pair.value);
      if (isSeq(pair.value)) texts(pair.value, false);
    }
  }

  function env(holder: Yaml.YAMLMap): void {
    const map = ownCopy(holder, 'env');
    if (isMap(map)) texts(map, true);
  }

  /**
   * The collection under `key` of `holder`, as a copy when it is an alias: the anchored
   * original may stand where numbers are numbers (`retries: *n`).
   */
  function ownCopy(holder: Yaml.YAMLMap, key: string): unknown {
    const pair = holder.items.find((p) => yaml.isScalar(p.key) && p.key.value === key);
    if (pair === undefined) return undefined;
    if (yaml.isAlias(pair.value)) pair.value = copy(pair.value);
    return pair.value;
  }

  function copy(alias: Yaml.Alias): unknown {
    const node = alias.resolve(doc);
    if (!isMap(node) && !isSeq(node)) return alias;
    const clone = node.clone();
    delete clone.anchor; // later aliases still mean the original
    return clone;
  }

  /** Each scalar value of `node` read as a number (or, with `bools`, a boolean) becomes its text. */
  function texts(node: Yaml.YAMLMap | Yaml.YAMLSeq, bools: boolean): void {
    node.items.forEach((item, i) => {
      if (yaml.isPair(item)) {
        if (!isMergeKey(item.key)) item.value = text(item.value, bools);
      } else node.items[i] = text(item, bools);
    });
  }

  function text(node: unknown, bools: boolean): unknown {
    const scalar = own(node);
    if (!yaml.isScalar(scalar) || typeof scalar.source !== 'string') return node;
    const { value } = scalar;
    if (typeof value !== 'number' && !(bools && typeof value === 'boolean')) return node;
    const written = new yaml.Scalar(scalar.source);
    written.range = scalar.range;
    return written;
  }

  function isMergeKey(key: unknown): boolean {
    if (!yaml.isScalar(key)) return false;
    const v = key.value;
    return v === '<<' || (typeof v === 'symbol' && v.description === '<<');
  }
}
