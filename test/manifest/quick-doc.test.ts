/**
 * `quickDoc` reads valid manifests without zod. It must never accept what the schema
 * refuses, must give exactly the schema's output when it accepts, and must accept the
 * valid manifests people write (else every run pays for zod again).
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { load as loadYaml, CORE_SCHEMA } from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { quickDoc } from '../../src/manifest/quick-doc.js';
import { manifestSchema } from '../../src/manifest/schema.js';
import { FIXTURES } from './helpers.js';

/** Values that are right for some key and wrong for most: the schema's corners. */
const corner = fc.constantFrom<unknown>(
  '',
  'a',
  'echo {}',
  '*.txt',
  '30s',
  '1m30s',
  '0',
  '0s',
  '-1s',
  '1.5',
  '300%',
  '0%',
  '%',
  ' 5s ',
  '5x',
  '512M',
  '1KiB',
  '2 GB',
  'fifo',
  'lifo',
  'stdout',
  'json',
  'lines',
  'cpu',
  'A=B',
  '__proto__',
  0,
  -0,
  1,
  2,
  -1,
  1.5,
  2 ** 53,
  1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  true,
  false,
  null,
  [],
  {},
);

const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    corner,
    fc.string({ maxLength: 6 }),
    fc.integer({ min: -3, max: 5 }),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom('min', 'max', 'workers', 'delay', 'factor', 'jitter', 'A', 'B', 'x'),
      tie('v'),
      { maxKeys: 3 },
    ),
  ),
})).v;

const duration = fc.constantFrom('500ms', '30s', '1m30s', '1.5', 0, 10, '0');
const shared = {
  priority: fc.integer({ min: -5, max: 5 }),
  pool: fc.constantFrom('cpu', 'net'),
  timeout: fc.constantFrom('10s', '300%', 5, '1h'),
  kill_grace: duration,
  retries: fc.integer({ min: 0, max: 3 }),
  backoff: fc.record(
    {
      delay: duration,
      factor: fc.constantFrom(1, 2, 1.5),
      max: duration,
      jitter: fc.boolean(),
    },
    { requiredKeys: [] },
  ),
  shell: fc.constantFrom('/bin/sh', 'bash'),
  cwd: fc.constantFrom('.', 'sub'),
  env: fc.dictionary(
    fc.constantFrom('A', 'B_2', 'lower'),
    fc.oneof(
      fc.string({ maxLength: 4 }),
      fc.integer(),
      fc.boolean(),
      fc.double({ noNaN: true, noDefaultInfinity: true }), // the schema refuses NaN and ±Infinity
    ),
    { maxKeys: 3 },
  ),
  allow_failure: fc.boolean(),
  capture: fc.constantFrom('stdout', 'json', 'lines'),
  capture_max: fc.constantFrom('64k', '1M', 100, '2MiB'),
};
const forEach = fc.oneof(
  fc.constantFrom('*.txt', 'sub/*'),
  fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), { minLength: 1, maxLength: 3 }),
  fc.record({
    matrix: fc.dictionary(
      fc.constantFrom('os', 'v'),
      fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.integer()), {
        minLength: 1,
        maxLength: 2,
      }),
      { minKeys: 1, maxKeys: 2 },
    ),
  }),
  fc.record({ csv: fc.constant('rows.csv') }),
  fc.record(
    { lines: fc.constant('l.txt'), null_separated: fc.boolean() },
    { requiredKeys: ['lines'] },
  ),
  fc.record({ from: fc.constant('a') }),
);
const jobKeys = {
  run: fc.constantFrom('echo {}', 'true'),
  for_each: forEach,
  batch: fc.integer({ min: 1, max: 4 }),
  // a name or a list of names
  needs: fc.oneof(fc.constantFrom('a', 'b'), fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 })),
  ...shared,
};
const goodJob = fc.record(
  { name: fc.constantFrom('a', 'b', 't-{item}'), ...jobKeys },
  { requiredKeys: ['name', 'run'] },
);
/** `jobs:` as a mapping of name → job (the key names the job). */
const jobMapping = fc.dictionary(
  fc.constantFrom('a', 'b', 't-{item}'),
  fc.record(jobKeys, { requiredKeys: ['run'] }),
  { minKeys: 1, maxKeys: 3 },
);
const goodDoc = fc.record(
  {
    $schema: fc.constant('./jobrun.schema.json'),
    version: fc.constant(1),
    workers: fc.oneof(
      fc.integer({ min: 1, max: 8 }),
      fc
        .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 4 }))
        .map(([min, more]) => ({ min, max: min + more })),
    ),
    order: fc.constantFrom('fifo', 'lifo'),
    defaults: fc.record(shared, { requiredKeys: [] }),
    pools: fc.dictionary(
      fc.constantFrom('cpu', 'net'),
      fc.record({ workers: fc.integer({ min: 1, max: 4 }) }),
      { maxKeys: 2 },
    ),
    jobs: fc.oneof(fc.array(goodJob, { minLength: 1, maxLength: 4 }), jobMapping),
  },
  { requiredKeys: ['jobs'] },
);

/** A valid document with some of its values (at any depth) replaced by hostile ones. */
function spoil(doc: unknown, picks: number[], swaps: unknown[]): unknown {
  let n = 0;
  const walk = (v: unknown): unknown => {
    const here = n++;
    const at = picks.indexOf(here);
    if (at !== -1) return swaps[at];
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    return v;
  };
  return walk(doc);
}

const extraKey = fc.constantFrom('nmae', 'timout', 'extra', '__proto__', 'constructor', '');

const hostileDoc = fc.oneof(
  fc
    .tuple(goodDoc, fc.array(fc.nat(40), { maxLength: 3 }), fc.array(value, { maxLength: 3 }))
    .map(([doc, picks, swaps]) => spoil(doc, picks, swaps)),
  fc.tuple(goodDoc, extraKey, value, fc.boolean()).map(([doc, key, v, inJob]) => {
    const jobs = doc.jobs as object[] | Record<string, object>;
    const first = Array.isArray(jobs) ? jobs[0] : Object.values(jobs)[0];
    const target = (inJob ? first : doc) as Record<string, unknown>;
    Object.defineProperty(target, key, {
      value: v,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return doc;
  }),
  value,
);

describe('quickDoc', () => {
  it('accepts only what the schema accepts, and gives exactly its output', () => {
    fc.assert(
      fc.property(hostileDoc, (doc) => {
        const quick = quickDoc(doc);
        if (quick === undefined) return;
        const parsed = manifestSchema.safeParse(doc);
        expect(parsed.success).toBe(true);
        expect(quick).toStrictEqual(parsed.data);
        expect(JSON.stringify(quick)).toBe(JSON.stringify(parsed.data)); // keys in the same order
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts every valid document it is given, with the same output', () => {
    fc.assert(
      fc.property(goodDoc, (doc) => {
        const parsed = manifestSchema.safeParse(doc);
        expect(parsed.success).toBe(true);
        expect(quickDoc(doc)).toStrictEqual(parsed.data);
      }),
      { numRuns: 1000 },
    );
  });

  it('accepts the valid manifests of the examples and fixtures', () => {
    const files = [
      path.join(FIXTURES, 'valid.yaml'),
      ...['quickstart.yaml', 'pipeline.yaml'].map((f) => path.join(FIXTURES, '../examples', f)),
    ];
    for (const file of files) {
      const data = loadYaml(fs.readFileSync(file, 'utf8'), { schema: CORE_SCHEMA });
      const parsed = manifestSchema.safeParse(data);
      expect(parsed.success, file).toBe(true);
      expect(quickDoc(data), file).toStrictEqual(parsed.data);
    }
  });

  it('is not sure about values the schema refuses', () => {
    const job = { name: 'a', run: 'true' };
    const doc = (extra: object, jobExtra: object = {}) => ({
      version: 1,
      jobs: [{ ...job, ...jobExtra }],
      ...extra,
    });
    for (const bad of [
      doc({ version: 2 }),
      doc({ workers: 0 }),
      doc({ workers: { min: 3, max: 2 } }),
      doc({ order: 'random' }),
      doc({ pools: { cpu: { workers: 1.5 } } }),
      doc({}, { timeout: '0s' }),
      doc({}, { timeout: '5x' }),
      doc({}, { retries: -1 }),
      doc({}, { env: { 'A=B': 1 } }),
      doc({}, { for_each: [] }),
      doc({}, { for_each: { matrix: {} } }),
      doc({}, { nmae: 'x' }),
      doc({}, { backoff: { factor: 0.5 } }),
      doc({}, { capture_max: 'lots' }),
      { version: 1, jobs: [] },
      { version: 1 },
      { jobs: {} },
      { jobs: { a: { name: 'b', run: 'true' } } },
      { jobs: { a: { run: 'true', needs: '' } } },
    ]) {
      expect(manifestSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
      expect(quickDoc(bad), JSON.stringify(bad)).toBeUndefined();
    }
  });
});
