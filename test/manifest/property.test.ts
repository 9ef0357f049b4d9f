/**
 * Property: whatever text reaches the loader, it either returns a consistent Plan or
 * throws a ManifestError with positioned issues — never any other exception.
 */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Plan } from '../../src/model/job.js';
import { ManifestError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/index.js';
import { cleanTempDirs, FIXTURES, tempDir, YAML_SCALARS } from './helpers.js';

afterAll(cleanTempDirs);

const baseDir = tempDir({ 'a.txt': '', 'b.txt': '', 'sub/c.txt': '', 'sub/d e.png': '' });

/** Loads `text` and checks the outcome; resolves when the property holds. */
async function holds(text: string, file: string): Promise<void> {
  let plan: Plan;
  try {
    plan = await parseManifest(text, { file, manifestPath: null, baseDir });
  } catch (err) {
    if (!(err instanceof ManifestError)) throw err;
    expect(err.issues.length).toBeGreaterThan(0);
    for (const issue of err.issues) {
      expect(issue.file).toBe(file);
      expect(issue.line).toBeGreaterThanOrEqual(1);
      expect(issue.column).toBeGreaterThanOrEqual(1);
      expect(issue.message).not.toBe('');
    }
    return;
  }
  const names = plan.jobs.map((j) => j.name);
  expect(new Set(names).size).toBe(names.length);
  expect(plan.jobs.map((j) => j.index)).toEqual(names.map((_, i) => i));
  for (const job of plan.jobs) {
    for (const need of job.needs) expect(names).toContain(need);
    expect(path.isAbsolute(job.cwd)).toBe(true);
    expect(job.command).not.toBe('');
  }
}

/** Random strings, minus glob patterns that would walk far outside the temp dir. */
const str = fc.string({ maxLength: 12 }).filter((s) => !/^[/~]|\.\./.test(s));

const valueArb = fc.oneof(
  fc.constantFrom(
    'a',
    'b',
    'c',
    't-{item}',
    '{}',
    'echo {}',
    '30s',
    '5x',
    '300%',
    '0%',
    '*.txt',
    '**/*',
    '*.none',
    'sub',
    'cpu',
    'fifo',
    -1,
    0,
    1,
    2.5,
    true,
    null,
    [],
    ['a'],
    ['a', 'b'],
    ['t-{item}'],
    [1, 'x'],
    { delay: '1s', factor: 0.5 },
    { A: 1, B: true },
    { min: 2, max: 1 },
    { workers: 2 },
  ),
  str,
  fc.integer({ min: -3, max: 10 }),
  fc.jsonValue({ maxDepth: 2 }),
);

const jobKeys = [
  'name',
  'run',
  'for_each',
  'needs',
  'priority',
  'pool',
  'timeout',
  'kill_grace',
  'retries',
  'backoff',
  'shell',
  'cwd',
  'env',
  'allow_failure',
  'timout',
  'nmae',
  '__proto__',
  'constructor',
  '',
];

const jobArb = fc.oneof(
  fc
    .record(
      {
        name: fc.constantFrom('a', 'b', 'c', 't-{item}', 'u'),
        run: fc.constantFrom('echo {}', 'true'),
      },
      { requiredKeys: [] },
    )
    .chain((base) =>
      fc
        .dictionary(fc.constantFrom(...jobKeys), valueArb, { maxKeys: 4 })
        .map((extra) => ({ ...base, ...extra })),
    ),
  valueArb,
);

const manifestArb = fc.dictionary(
  fc.constantFrom('version', 'workers', 'order', 'defaults', 'pools', 'jobs', '$schema', 'extra'),
  fc.oneof(
    fc.constantFrom(1, 2, '1'),
    valueArb,
    fc.array(jobArb, { maxLength: 5 }),
    fc.dictionary(fc.constantFrom(...jobKeys), valueArb, { maxKeys: 3 }),
    fc.dictionary(fc.constantFrom('cpu', 'net'), fc.oneof(fc.constant({ workers: 1 }), valueArb), {
      maxKeys: 2,
    }),
  ),
  { maxKeys: 7 },
);

/** Mostly-valid manifests, so the semantic checks and expansion get exercised too. */
const nearValidArb = fc
  .record({
    jobs: fc.array(jobArb, { minLength: 1, maxLength: 6 }),
    pools: fc.constantFrom(undefined, { cpu: { workers: 2 } }),
    defaults: fc.constantFrom(undefined, { retries: 1 }, { pool: 'cpu' }, { cwd: 'sub' }),
  })
  .map((m) => ({ version: 1, ...m }));

const RUNS = { numRuns: 300 };

describe('loadManifest never throws anything but ManifestError', () => {
  it('for random text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) =>
        holds(text, 'm.yaml'),
      ),
      RUNS,
    );
  });

  it('for YAML-ish token soup', async () => {
    const token = fc.constantFrom(
      'version: 1\n',
      'jobs:\n',
      '  - ',
      'name: a\n',
      '    run: echo {}\n',
      '    needs: [a]\n',
      '    for_each: "*.txt"\n',
      '&x ',
      '*x',
      '<<: *x\n',
      '? ',
      '{',
      '}',
      '[',
      ']',
      ',',
      '"',
      "'",
      '#',
      '!!str ',
      '!!binary ',
      '!custom ',
      '---\n',
      '...\n',
      '|\n',
      '\t',
      ' ',
      '\n',
      ': ',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(token, str), { maxLength: 40 }), (parts) =>
        holds(parts.join(''), 'm.yaml'),
      ),
      RUNS,
    );
  });

  it('for random manifests as YAML and as JSON', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(manifestArb, nearValidArb), fc.boolean(), async (doc, asJson) => {
        await holds(
          asJson ? JSON.stringify(doc, null, 2) : stringify(doc),
          asJson ? 'm.json' : 'm.yaml',
        );
      }),
      RUNS,
    );
  });

  it('for random edits of a valid manifest', async () => {
    const valid = fs.readFileSync(path.join(FIXTURES, 'valid.yaml'), 'utf8');
    const edit = fc.record({
      at: fc.nat(valid.length),
      cut: fc.nat(8),
      insert: fc.oneof(str, fc.constantFrom(':', '-', '{', '"', '\n  ')),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), async (edits) => {
        let text = valid;
        for (const e of edits) text = text.slice(0, e.at) + e.insert + text.slice(e.at + e.cut);
        await holds(text, 'm.yaml');
      }),
      RUNS,
    );
  });

  /** The fast pass (js-yaml, no positions) must give exactly what the positioned pass gives. */
  async function sameBothWays(text: string, file: string): Promise<void> {
    const outcome = (fast: boolean) =>
      parseManifest(text, { file, manifestPath: null, baseDir, fast }).then(
        (plan) => ({ plan }),
        (err: unknown) => {
          if (err instanceof ManifestError) return { issues: err.issues };
          throw err;
        },
      );
    expect(await outcome(true)).toEqual(await outcome(false));
  }

  it('gives the same plan or the same errors with and without the fast pass', async () => {
    const valid = fs.readFileSync(path.join(FIXTURES, 'valid.yaml'), 'utf8');
    const edit = fc.record({
      at: fc.nat(valid.length),
      cut: fc.nat(8),
      insert: fc.oneof(str, fc.constantFrom(':', '-', '{', '"', '\n  ', '0o17', '1e3', 'yes', '~')),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc
            .tuple(fc.oneof(manifestArb, nearValidArb), fc.boolean())
            .map(([doc, asJson]) => (asJson ? JSON.stringify(doc, null, 2) : stringify(doc))),
          fc.array(edit, { maxLength: 3 }).map((edits) => {
            let text = valid;
            for (const e of edits) text = text.slice(0, e.at) + e.insert + text.slice(e.at + e.cut);
            return text;
          }),
        ),
        (text) => sameBothWays(text, 'm.yaml'),
      ),
      RUNS,
    );
  });

  it('reads numbers, booleans and tags by YAML 1.2 both ways (js-yaml alone reads 1_000 as a number)', async () => {
    const scalars = [
      ...YAML_SCALARS,
      '!!int "3"',
      '!!float 3',
      '!!str 3',
      '!!bool "true"',
      '!!null ""',
    ];
    for (const scalar of scalars) {
      for (const key of ['retries', 'priority', 'timeout', 'allow_failure', 'name']) {
        const job =
          key === 'name'
            ? `{ name: ${scalar}, run: "true" }`
            : `{ name: a, run: "true", ${key}: ${scalar} }`;
        await sameBothWays(`version: 1\njobs:\n  - ${job}\n`, 'm.yaml');
        await sameBothWays(`version: 1\njobs:\n  - name: a\n    run: echo ${scalar}\n`, 'm.yaml');
      }
      // values that reach the job as text: the careful way keeps the text as written
      await sameBothWays(`jobs:\n  - { name: a, run: "true", env: { K: ${scalar} } }\n`, 'm.yaml');
      await sameBothWays(
        `jobs:\n  - { name: "{}", run: "true", for_each: [${scalar}] }\n`,
        'm.yaml',
      );
    }
  });
});
