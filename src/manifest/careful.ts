/**
 * The careful way through a manifest: yaml's document model keeps every position and
 * zod's schema finds every issue, so a bad manifest is reported whole, each issue at
 * its file:line:column. The loader comes here only when its quick way was not sure
 * (see `load.ts`), so neither yaml's document model nor zod loads for a valid manifest.
 */
import type { Plan } from '../model/job.js';
import { ManifestError } from '../errors.js';
import { keepWritten } from './as-written.js';
import { addZodIssues, errorMap } from './issues.js';
import { IssueList } from './locate.js';
import { wholeParts } from './parts.js';
import { expandAll, sortIssues } from './plan.js';
import { toPlan, type PlanSource } from './to-plan.js';
import { salvage } from './salvage.js';
import { quoteBraceHint } from './yaml-hints.js';
import { manifestSchema } from './schema.js';

/** The offset of the first non-blank character of `offset`'s line. */
function lineStart(source: string, offset: number): number {
  const start = source.lastIndexOf('\n', Math.max(offset - 1, 0)) + 1;
  return start + (/^\s*/.exec(source.slice(start))?.[0].length ?? 0);
}

/** The Plan of a valid manifest, or a `ManifestError` with every issue in it. */
export async function carefulPlan(source: string, opts: PlanSource): Promise<Plan> {
  const yaml = await import('yaml');
  const lineCounter = new yaml.LineCounter();
  const doc = yaml.parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    merge: true,
    uniqueKeys: true,
    logLevel: 'error', // no process warnings; problems become issues
  });
  const list = new IssueList(opts.file, { text: source, doc, lineCounter, yaml });
  const hinted = new Set<string>();
  for (const err of doc.errors) {
    const message = (err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
    const hint = quoteBraceHint(source, err.pos[0]);
    if (hint === undefined) list.addAt(err.pos[0], `syntax error: ${message}`);
    else if (!hinted.has(hint)) {
      hinted.add(hint); // one line can give several errors: one hint for them
      list.addAt(lineStart(source, err.pos[0]), `syntax error: ${hint}`);
    }
  }
  if (list.issues.length) throw new ManifestError(list.issues);

  keepWritten(doc, yaml);
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 10_000 });
  } catch (err) {
    list.addAt(0, `cannot read document: ${(err as Error).message}`);
    throw new ManifestError(list.issues);
  }

  const parsed = manifestSchema.safeParse(data, { error: errorMap });
  if (!parsed.success) addZodIssues(parsed.error, list);
  const parts = parsed.success ? wholeParts(parsed.data) : salvage(data, parsed.error.issues);
  const expansion = parts ? await expandAll(parts, opts, list) : { jobs: [] };
  if (!parsed.success || list.issues.length) throw new ManifestError(sortIssues(list.issues));
  return toPlan(parsed.data, expansion, opts);
}
