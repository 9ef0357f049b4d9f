/**
 * An `env` value and a `for_each` item reach the job as written: YAML reads `3.10` as the
 * number 3.1, but `PYTHON_VERSION: 3.10` means the text `3.10`.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/errors.js';
import { parseManifest } from '../../src/manifest/index.js';
import { quickDoc } from '../../src/manifest/quick-doc.js';
import { readsAsWritten } from '../../src/manifest/quick-yaml.js';
import type { Plan } from '../../src/model/job.js';
import { cleanTempDirs, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

/** Reads `text` as `file` both ways (quick and careful), which must agree. */
async function plan(text: string, file = 'm.yaml'): Promise<Plan> {
  const opts = { file, manifestPath: null, baseDir: tempDir() };
  const quick = await parseManifest(text, opts);
  expect(await parseManifest(text, { ...opts, fast: false })).toEqual(quick);
  return quick;
}

const lines = (...l: string[]) => l.join('\n') + '\n';

describe('values as written', () => {
  it('passes env numbers and booleans as written, by both readers', async () => {
    const { jobs } = await plan(
      lines(
        'version: 1',
        'defaults:',
        '  env: { D: 3.10, T: True }',
        'jobs:',
        '  - name: a',
        '    run: "true"',
        '    env: { F: 1.10, O: 0755, V: 1e3, N: 5, B: true, H: 0x1F, M: -0, Q: "2.0", S: 1.5 }',
        '  - name: b',
        '    run: "true"',
        '    env:',
        '      PYTHON_VERSION: 3.10',
        '      BIG: 9007199254740993',
      ),
    );
    expect(jobs.map((j) => j.env)).toEqual([
      {
        D: '3.10',
        T: 'True',
        F: '1.10',
        O: '0755',
        V: '1e3',
        N: '5',
        B: 'true',
        H: '0x1F',
        M: '-0',
        Q: '2.0',
        S: '1.5',
      },
      { D: '3.10', T: 'True', PYTHON_VERSION: '3.10', BIG: '9007199254740993' },
    ]);
  });

  it('passes the items of a for_each list and of a matrix as written', async () => {
    const { jobs } = await plan(
      lines(
        'version: 1',
        'jobs:',
        '  - name: py-{}',
        '    for_each: [3.9, 3.10, 0755, 1e3, 7]',
        '    run: echo {}',
        '  - name: m-{py}-{n}',
        '    for_each: { matrix: { py: [3.10], n: [+1] } }',
        '    run: echo {py} {n}',
      ),
    );
    expect(jobs.map((j) => j.name)).toEqual([
      'py-3.9',
      'py-3.10',
      'py-0755',
      'py-1e3',
      'py-7',
      'm-3.10-+1',
    ]);
    expect(jobs.at(-1)!.command).toBe('echo 3.10 +1');
  });

  it('keeps the text through aliases without changing what the anchor means elsewhere', async () => {
    const { jobs } = await plan(
      lines(
        'version: 1',
        'jobs:',
        '  - name: a',
        '    run: "true"',
        '    retries: &n 02',
        '    env: { R: *n }',
        '  - name: b',
        '    run: "true"',
        '    env: &e { V: 1.10 }',
        '  - name: c',
        '    run: "true"',
        '    env: *e',
      ),
    );
    expect(jobs.map((j) => [j.retries, j.env])).toEqual([
      [2, { R: '02' }],
      [0, { V: '1.10' }],
      [0, { V: '1.10' }],
    ]);
  });

  it('does the same in jobs written as a mapping', async () => {
    const { jobs } = await plan(
      lines('jobs:', '  a:', '    run: echo {}', '    for_each: [1.50]', '    env: { V: 3.10 }'),
    );
    expect(jobs.map((j) => [j.command, j.env])).toEqual([['echo 1.50', { V: '3.10' }]]);
  });

  it('reads a JSON manifest as written too', async () => {
    const json = JSON.stringify({ jobs: [{ name: 'a', run: 'true', env: { N: 5 } }] });
    const { jobs } = await plan(json.replace('5', '1.10'), 'm.json');
    expect(jobs[0]!.env).toEqual({ N: '1.10' });
  });

  it('keeps the quick reader only when every number reads back as written', () => {
    const careful = ['env: { F: 1.10 }', 'env: { O: 0755 }', 'k: [1e3]', 'k: {"a":0x1F}'];
    careful.push('env: { B: True }', 'k: -0', 'k: +5', 'k: 9007199254740993', 'k: 5.');
    for (const text of careful) expect(readsAsWritten(text), text).toBe(false);
    const quick = ['env: { N: 5, B: true, S: 1.5, X: -3 }', 'k: [1, 2.25]', 'run: python3.10 x'];
    quick.push('{"jobs":[{"env":{"A":12}}]}', 'name: v1.10', 'k: "a true"', '0');
    for (const text of quick) expect(readsAsWritten(text), text).toBe(true);
  });

  it('asks whether numbers read as written only for env values and for_each items', () => {
    let asked = 0;
    const no = () => (asked++, false);
    const job = (more: object) => ({ jobs: [{ name: 'a', run: 'x', retries: 2, ...more }] });
    expect(quickDoc(job({ env: { A: 'b' }, for_each: ['c'] }), no)).toBeDefined();
    expect(asked).toBe(0);
    for (const more of [{ env: { A: 1.1 } }, { env: { A: true } }, { for_each: [1] }])
      expect(quickDoc(job(more), no), JSON.stringify(more)).toBeUndefined();
    expect(quickDoc(job({ for_each: { matrix: { n: [1] } } }), no)).toBeUndefined();
    expect(quickDoc(job({ env: { A: 5 }, for_each: [1] }), () => true)).toBeDefined();
  });

  it('gives the same env and items both ways for any number-ish plain scalar', async () => {
    const scalar = fc
      .array(fc.constantFrom(...'0123456789+-._eExXoO'.split(''), 'inf', 'nan', 'True'), {
        minLength: 1,
        maxLength: 8,
      })
      .map((parts) => parts.join(''))
      .filter((s) => !/^[-.]{1,3}$/.test(s) && !s.startsWith('- '));
    const baseDir = tempDir();
    const outcome = (text: string, fast: boolean) =>
      parseManifest(text, { file: 'm.yaml', manifestPath: null, baseDir, fast }).then(
        (p) => ({ jobs: p.jobs.map((j) => [j.name, j.env]) }),
        (err: unknown) => {
          if (err instanceof ManifestError) return { issues: err.issues };
          throw err;
        },
      );
    await fc.assert(
      fc.asyncProperty(scalar, scalar, async (a, b) => {
        const text = lines(
          'jobs:',
          '  - name: "{}"',
          `    for_each: [${a}]`,
          `    env: { K: ${b} }`,
        );
        const full = `${text}    run: "true"\n`;
        expect(await outcome(full, true)).toEqual(await outcome(full, false));
      }),
      { numRuns: 500 },
    );
  });
});
