/**
 * How the cache reads an `outputs` or `inputs` entry: a glob, or a plain path. A name
 * an item put into a template is escaped (`substituteGlob`), so `out/a\?.n` is the
 * file `out/a?.n`, a plain path, looked at like any other (a folder counts whole).
 */

/**
 * The path `glob` names when it has no glob syntax of its own (escaped characters
 * stand for themselves); undefined for a real glob. `isDynamic` is fast-glob's test,
 * which counts any backslash as syntax: it judges the pattern with each escaped
 * character masked.
 */
export function literalPath(
  glob: string,
  isDynamic: (pattern: string) => boolean,
): string | undefined {
  if (isDynamic(glob.replace(/\\[\s\S]/g, '_'))) return undefined;
  return glob.replace(/\\([\s\S])/g, '$1');
}
