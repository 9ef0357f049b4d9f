/**
 * Reads the manifest schema's structure, for "did you mean" hints on unknown keys.
 */
import type { z } from 'zod';
import { manifestSchema } from './schema.js';

type Def = Record<string, unknown> & { type?: string };

function defOf(schema: z.core.$ZodType | undefined): Def | undefined {
  return schema?._zod.def as unknown as Def | undefined;
}

/** Sees through optional, pipe (transform) and union wrappers to the structural schema. */
function unwrap(schema: z.core.$ZodType | undefined): Def | undefined {
  for (let def = defOf(schema); def;) {
    if (def.type === 'optional' || def.type === 'default')
      def = defOf(def.innerType as z.core.$ZodType);
    else if (def.type === 'pipe') {
      // a transform reads its output's shape; a preprocess (`jobs`) is a transform then a schema
      const input = defOf(def.in as z.core.$ZodType);
      def = input?.type === 'transform' ? defOf(def.out as z.core.$ZodType) : input;
    } else if (def.type === 'union') {
      const options = def.options as z.core.$ZodType[];
      def = defOf(options.find((o) => ['object', 'array', 'record'].includes(o._zod.def.type)));
    } else return def;
  }
  return undefined;
}

/** The keys an object at `path` (a zod issue path) accepts, for "did you mean" hints. */
export function validKeysAt(path: readonly PropertyKey[]): string[] {
  let def = unwrap(manifestSchema);
  for (const seg of path) {
    if (def?.type === 'object')
      def = unwrap((def.shape as Record<string, z.core.$ZodType>)[String(seg)]);
    else if (def?.type === 'array') def = unwrap(def.element as z.core.$ZodType);
    else if (def?.type === 'record') def = unwrap(def.valueType as z.core.$ZodType);
    else return [];
  }
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}
