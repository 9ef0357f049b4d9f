import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManifestError } from '../../src/errors.js';
import { loadManifest, parseManifest } from '../../src/manifest/index.js';
import { cleanTempDirs, FIXTURES, formattedIssues, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

const fixture = (name: string) => formattedIssues(loadManifest(name, { cwd: FIXTURES }));

/** Parses inline text as `m.yaml` / `m.json` with an empty temp dir as its folder. */
const inline = (text: string, file = 'm.yaml') =>
  formattedIssues(parseManifest(text, { file, manifestPath: null, baseDir: tempDir() }));

describe('fixture manifests: one error each, at file:line:column', () => {
  it.each([
    ['unknown-key.yaml', 'unknown-key.yaml:5:5: unknown key "timout"; did you mean "timeout"?'],
    ['unknown-key.json', 'unknown-key.json:4:39: unknown key "retires"; did you mean "retries"?'],
    [
      'wrong-type.yaml',
      'wrong-type.yaml:5:20: jobs[0].allow_failure: expected true or false, got string "sometimes"',
    ],
    [
      'bad-duration.yaml',
      'bad-duration.yaml:5:14: jobs[0].timeout: invalid duration "10 minutes" (use e.g. 500ms, 30s, 5m, 1h, or a number of seconds)',
    ],
    ['negative-retries.yaml', 'negative-retries.yaml:5:14: jobs[0].retries: must be 0 or more'],
    ['bad-version.yaml', 'bad-version.yaml:1:10: version: expected 1, got number 2'],
    [
      'duplicate-names.yaml',
      'duplicate-names.yaml:7:11: duplicate job name "build" (first defined at line 3)',
    ],
    [
      'unknown-pool.yaml',
      'unknown-pool.yaml:7:11: unknown pool "cpus" (defined pools: cpu); did you mean "cpu"?',
    ],
    [
      'unknown-need.yaml',
      'unknown-need.yaml:7:20: needs unknown job "biuld"; did you mean "build"?',
    ],
    ['cycle.yaml', 'cycle.yaml:11:13: dependency cycle: a → b → c → a'],
    [
      'empty-glob.yaml',
      `empty-glob.yaml:4:15: for_each "img/*.png" matched no files (searched in ${FIXTURES})`,
    ],
    ['syntax-error.yaml', 'syntax-error.yaml:6:1: syntax error: Missing closing "quote'],
    [
      'syntax-error.json',
      "syntax-error.json:6:1: not valid JSON: Expected ',' or '}' after property value",
    ],
  ])('%s', async (file, expected) => {
    expect(await fixture(file)).toEqual([expected]);
  });

  it('reports every problem at once, schema and semantic, in source order', async () => {
    expect(await fixture('many-errors.yaml')).toEqual([
      'many-errors.yaml:2:17: workers.min: must not be greater than max',
      'many-errors.yaml:6:5: unknown key "timout"; did you mean "timeout"?',
      'many-errors.yaml:9:14: jobs[1].retries: must be 0 or more',
      'many-errors.yaml:10:13: needs unknown job "biuld"; did you mean "build"?',
      'many-errors.yaml:12:10: jobs[2].run: must not be empty',
      'many-errors.yaml:13:17: jobs[2].kill_grace: invalid duration "soon" (use e.g. 500ms, 30s, 5m, 1h, or a number of seconds)',
    ]);
  });

  it('puts every issue in the error message, one per line', async () => {
    const err = await loadManifest('many-errors.yaml', { cwd: FIXTURES }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).message.split('\n')).toHaveLength(6);
    expect((err as ManifestError).exitCode).toBe(2);
  });
});

describe('JSON positions', () => {
  const json = [
    '{',
    '  "version": 1,',
    '  "workers": "many",',
    '  "jobs": [',
    '    { "name": "a", "run": "x", "timeout": "soon", "retries": 1.5 },',
    '    { "name": "b", "run": 42, "needs": ["a", "zz"], "envv": {} }',
    '  ]',
    '}',
  ].join('\n');

  it('points at values, and at keys for unknown keys', async () => {
    expect(await inline(json, 'm.json')).toEqual([
      'm.json:3:14: workers: expected a positive whole number or { min, max }',
      'm.json:5:43: jobs[0].timeout: invalid duration "soon" (use e.g. 500ms, 30s, 5m, 1h, or a number of seconds)',
      'm.json:5:62: jobs[0].retries: expected a whole number',
      'm.json:6:27: jobs[1].run: expected a string, got number 42',
      'm.json:6:53: unknown key "envv"; did you mean "env"?',
    ]);
  });

  it('reports a single-line JSON document by column', async () => {
    expect(
      await inline('{"version":1,"jobs":[{"name":"a","run":"x","pool":"p"}]}', 'm.json'),
    ).toEqual(['m.json:1:51: unknown pool "p" (no pools are defined)']);
  });
});

describe('YAML problems', () => {
  it('reports a missing required key at the mapping that lacks it', async () => {
    expect(await inline('version: 1\njobs:\n  - name: a\n    retries: 1\n')).toEqual([
      'm.yaml:3:5: jobs[0]: missing required key "run"',
    ]);
    expect(await inline('version: 1\n')).toEqual(['m.yaml:1:1: missing required key "jobs"']);
  });

  it('reports an empty or non-mapping document at 1:1', async () => {
    expect(await inline('')).toEqual(['m.yaml:1:1: expected a mapping, got nothing']);
    expect(await inline('- a\n- b\n')).toEqual(['m.yaml:1:1: expected a mapping, got a list']);
    expect(await inline('just text')).toEqual([
      'm.yaml:1:1: expected a mapping, got string "just text"',
    ]);
  });

  it('reports duplicate keys and multiple documents as syntax errors', async () => {
    expect(await inline('version: 1\nversion: 1\njobs: []\n')).toEqual([
      'm.yaml:2:1: syntax error: Map keys must be unique',
    ]);
    const issues = await inline('version: 1\n---\nversion: 1\n');
    expect(issues[0]).toMatch(/^m\.yaml:2:1: syntax error: /);
  });

  it('explains bad values of every kind', async () => {
    const text = [
      'version: 1',
      'order: random',
      'pools:',
      '  cpu: { workers: 0 }',
      'defaults:',
      '  backoff: { factor: 0.5, delay: -1 }',
      '  env: { "A=B": 1, C: [1] }',
      'jobs:',
      '  - name: a',
      '    run: x',
      '    for_each: []',
      '    priority: 1.5',
      '    timeout: 0%',
      '    needs: 3',
    ].join('\n');
    expect(await inline(text)).toEqual([
      'm.yaml:2:8: order: expected "fifo" or "lifo"',
      'm.yaml:4:19: pools.cpu.workers: must be at least 1',
      'm.yaml:6:22: defaults.backoff.factor: must be at least 1',
      'm.yaml:6:34: defaults.backoff.delay: must be a non-negative duration, got -1',
      'm.yaml:7:10: defaults.env["A=B"]: environment variable names cannot be empty or contain "="',
      'm.yaml:7:23: defaults.env.C: expected a string, number or boolean',
      'm.yaml:11:15: jobs[0].for_each: must not be empty',
      'm.yaml:12:15: jobs[0].priority: expected an integer',
      'm.yaml:13:14: jobs[0].timeout: invalid percentage "0%" (use e.g. 300%)',
      'm.yaml:14:12: jobs[0].needs: expected a job name or a list of job names',
    ]);
  });

  it('workers: 0 says that -j 0 is how to ask for as many as allowed', async () => {
    expect(await inline('workers: 0\njobs:\n  - name: a\n    run: x\n')).toEqual([
      'm.yaml:1:10: workers: must be at least 1 (for as many as allowed, run with -j 0)',
    ]);
  });

  it('a for_each of the wrong type lists every form it may take, not only the mapping ones', async () => {
    for (const value of ['3', 'true']) {
      const text = `version: 1\njobs:\n  - name: a\n    run: x\n    for_each: ${value}\n`;
      expect(await inline(text)).toEqual([
        'm.yaml:5:15: jobs[0].for_each: expected a glob string, a list of values, { matrix }, { csv }, { lines } or { from: JOB }',
      ]);
    }
  });

  it('suggests only near keys', async () => {
    const issues = await inline(
      'version: 1\njobs:\n  - { name: a, run: x, colour: red, Needs: [], ev: {} }\n',
    );
    expect(issues).toEqual([
      'm.yaml:3:24: unknown key "colour"',
      'm.yaml:3:37: unknown key "Needs"; did you mean "needs"?',
      'm.yaml:3:48: unknown key "ev"; did you mean "env"?',
    ]);
  });
});

describe('semantic checks', () => {
  it('a cwd that is gone is an error, unless the caller checks folders itself (retry)', async () => {
    const dir = tempDir({ 'm.yaml': 'jobs:\n  - name: f\n    run: "false"\n    cwd: sub\n' });
    const file = path.join(dir, 'm.yaml');
    await expect(loadManifest(file)).rejects.toThrow(`cwd ${path.join(dir, 'sub')} does not exist`);
    for (const fast of [true, false]) {
      const plan = await parseManifest(fs.readFileSync(file, 'utf8'), {
        file: 'm.yaml',
        manifestPath: file,
        baseDir: dir,
        checkCwd: false,
        fast,
      });
      expect(plan.jobs.map((j) => j.cwd)).toEqual([path.join(dir, 'sub')]);
    }
    const plan = await loadManifest(file, { checkCwd: false });
    expect(plan.jobs[0]?.cwd).toBe(path.join(dir, 'sub'));
  });

  it('reports unknown needs substituted per item, once per need', async () => {
    const text = [
      'version: 1',
      'jobs:',
      '  - name: b-{}',
      '    for_each: [x, y]',
      '    run: b',
      '  - name: t-{}',
      '    for_each: [x, z]',
      '    run: t',
      '    needs: ["b-{}"]',
    ].join('\n');
    // "b-{}" equals b's template, so it means all of b: no error
    await expect(
      parseManifest(text, { file: 'm', manifestPath: null, baseDir: tempDir() }),
    ).resolves.toBeTruthy();
    const paired = text.replace('needs: ["b-{}"]', 'needs: ["b-{item}"]');
    expect(await inline(paired)).toEqual([
      'm.yaml:9:13: needs unknown job "b-z" (from "b-{item}" for item "z"); did you mean "b-x"?',
    ]);
  });

  it('never suggests that a job need itself (a cycle)', async () => {
    // `a` needing `b` of a manifest without `b` was told: did you mean "a"?
    expect(await inline('jobs:\n  - { name: a, run: x, needs: [b] }\n')).toEqual([
      'm.yaml:2:32: needs unknown job "b"',
    ]);
    expect(
      await inline('jobs:\n  - { name: ab, run: x }\n  - { name: a, run: x, needs: [b] }\n'),
    ).toEqual(['m.yaml:3:32: needs unknown job "b"; did you mean "ab"?']);
    const each = 'jobs:\n  - { name: "t-{}", for_each: [x, y], run: x, needs: ["t-z"] }\n';
    expect(await inline(each)).toEqual(['m.yaml:2:55: needs unknown job "t-z"']);
    const stage =
      'jobs:\n  - { name: src, run: x }\n' +
      '  - { name: "w-{}", for_each: { from: src }, run: x, needs: ["w-{]"] }\n';
    expect(await inline(stage)).toEqual(['m.yaml:3:62: needs unknown job "w-{]"']);
  });

  it('reports duplicates created by expansion at the job name', async () => {
    expect(
      await inline(
        'version: 1\njobs:\n  - { name: "n-{ext}", for_each: [a.txt, b.txt], run: x }\n',
      ),
    ).toEqual(['m.yaml:3:13: duplicate job name "n-txt" (from the same job)']);
  });

  it('reports a self-dependency and a cycle through for_each jobs once', async () => {
    expect(await inline('version: 1\njobs:\n  - { name: a, run: x, needs: [a] }\n')).toEqual([
      'm.yaml:3:32: dependency cycle: a → a',
    ]);
    const text = [
      'version: 1',
      'jobs:',
      '  - { name: "p-{}", for_each: [1, 2], run: x, needs: [q] }',
      '  - { name: q, run: y, needs: ["p-{}"] }',
    ].join('\n');
    expect(await inline(text)).toEqual(['m.yaml:4:32: dependency cycle: p-1 → q → p-1']);
  });

  it('points at defaults.pool once when the pool comes from defaults', async () => {
    const text =
      'version: 1\ndefaults: { pool: gpu }\njobs:\n  - { name: a, run: x }\n  - { name: b, run: y }\n';
    expect(await inline(text)).toEqual(['m.yaml:2:19: unknown pool "gpu" (no pools are defined)']);
  });

  it('does not report needs of jobs whose own definition is broken', async () => {
    const text =
      'version: 1\njobs:\n  - { name: a, run: 5 }\n  - { name: b, run: x, needs: [a] }\n';
    expect(await inline(text)).toEqual([
      'm.yaml:3:21: jobs[0].run: expected a string, got number 5',
    ]);
  });

  it('reports the searched folder for an empty glob, relative to the job cwd', async () => {
    const dir = tempDir({ 'sub/a.txt': '' });
    const text = 'version: 1\njobs:\n  - { name: a, run: x, cwd: sub, for_each: "*.png" }\n';
    const issues = await formattedIssues(
      parseManifest(text, { file: 'm.yaml', manifestPath: null, baseDir: dir }),
    );
    expect(issues).toEqual([
      `m.yaml:3:44: for_each "*.png" matched no files (searched in ${path.join(dir, 'sub')})`,
    ]);
  });
});

describe('hostile YAML', () => {
  it('refuses an alias bomb instead of expanding it', async () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const cur = String.fromCharCode(97 + i);
      lines.push(`${cur}: &${cur} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const issues = await inline(lines.join('\n'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^m\.yaml:1:1: cannot read document: .*alias/i);
  });

  it('reports keys that are collections as unknown keys, without warnings', async () => {
    const issues = await inline('version: 1\n? [a]\n: 1\njobs: [{ name: a, run: x }]\n');
    expect(issues).toEqual(['m.yaml:2:3: unknown key "[ a ]"']);
  });
});
