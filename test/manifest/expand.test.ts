import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/job.js';
import { loadManifest } from '../../src/manifest/index.js';
import { cleanTempDirs, FIXTURES, formattedIssues, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

/** Writes `yaml` as jobs.yaml in a temp dir holding `files`, and loads it. */
async function load(
  yaml: string,
  files: Record<string, string> = {},
): Promise<{ plan: Plan; dir: string }> {
  const dir = tempDir({ ...files, 'jobs.yaml': yaml });
  return { plan: await loadManifest(path.join(dir, 'jobs.yaml')), dir };
}

const pick = (plan: Plan) =>
  plan.jobs.map((j) => ({ name: j.name, command: j.command, needs: j.needs }));

describe('for_each over a glob', () => {
  const files = {
    'img/b.png': '',
    'img/a.png': '',
    'img/sub/c d.png': '',
    'img/.hidden.png': '',
    'img/notes.txt': '',
    'img/dir.png/inner.txt': '',
  };

  it('makes one job per matching file, sorted, files only, no dotfiles', async () => {
    const { plan, dir } = await load(
      [
        'version: 1',
        'jobs:',
        '  - name: thumb-{stem}',
        '    for_each: "img/**/*.png"',
        '    run: convert {} out/{/.}.webp',
      ].join('\n'),
      files,
    );
    expect(pick(plan)).toEqual([
      { name: 'thumb-a', command: 'convert img/a.png out/a.webp', needs: [] },
      { name: 'thumb-b', command: 'convert img/b.png out/b.webp', needs: [] },
      { name: 'thumb-c d', command: "convert 'img/sub/c d.png' out/'c d'.webp", needs: [] },
    ]);
    expect(plan.jobs.map((j) => j.index)).toEqual([0, 1, 2]);
    expect(plan.jobs.every((j) => j.cwd === dir)).toBe(true);
    expect(plan.manifestPath).toBe(path.join(dir, 'jobs.yaml'));
  });

  it('globs relative to the job cwd, which is relative to the manifest folder', async () => {
    const { plan, dir } = await load(
      [
        'version: 1',
        'jobs:',
        '  - name: t-{}',
        '    cwd: img',
        '    for_each: "*.png"',
        '    run: ls {}',
      ].join('\n'),
      files,
    );
    expect(plan.jobs.map((j) => j.name)).toEqual(['t-a.png', 't-b.png']);
    expect(plan.jobs.every((j) => j.cwd === path.join(dir, 'img'))).toBe(true);
  });

  it('names jobs <name>:<item> when the name has no placeholder', async () => {
    const { plan } = await load(
      ['version: 1', 'jobs:', '  - name: t', '    for_each: "img/*.png"', '    run: ls'].join('\n'),
      files,
    );
    expect(plan.jobs.map((j) => j.name)).toEqual(['t:img/a.png', 't:img/b.png']);
  });

  it('escapes the glob characters an item puts into outputs and inputs, not the template’s own', async () => {
    const { plan } = await load(
      [
        'version: 1',
        'jobs:',
        '  - name: c-{base}',
        '    for_each: "d/*"',
        '    cache: true',
        '    run: wc -c < {} > out/{base}.n',
        '    outputs: ["out/{base}.n", "logs/{base}-*.log"]',
        '    inputs: ["conf/{base}.cfg"]',
      ].join('\n'),
      { 'd/a1': '', 'd/a?': '', 'd/[b]': '' },
    );
    const caches = Object.fromEntries(plan.jobs.map((j) => [j.name, j.cache]));
    expect(caches['c-a?']).toMatchObject({
      outputs: ['out/a\\?.n', 'logs/a\\?-*.log'],
      inputs: ['conf/a\\?.cfg'],
      files: ['d/a?'],
    });
    expect(caches['c-[b]']?.outputs).toEqual(['out/\\[b\\].n', 'logs/\\[b\\]-*.log']);
    // a name without glob characters is as written, so its key is as before
    expect(caches['c-a1']?.outputs).toEqual(['out/a1.n', 'logs/a1-*.log']);
  });
});

describe('for_each over a list', () => {
  it('substitutes items (numbers as strings) and 1-based {index}', async () => {
    const { plan } = await load(
      [
        'version: 1',
        'jobs:',
        '  - name: first',
        '    run: "true"',
        '  - name: n',
        '    for_each: [10, "a b", x.tar.gz]',
        '    run: echo {item} {index} {ext}',
      ].join('\n'),
    );
    expect(pick(plan)).toEqual([
      { name: 'first', command: 'true', needs: [] },
      { name: 'n:10', command: "echo 10 1 ''", needs: [] },
      { name: 'n:a b', command: "echo 'a b' 2 ''", needs: [] },
      { name: 'n:x.tar.gz', command: 'echo x.tar.gz 3 gz', needs: [] },
    ]);
    expect(plan.jobs.map((j) => j.index)).toEqual([0, 1, 2, 3]);
  });

  it('leaves placeholders alone in jobs without for_each', async () => {
    const { plan } = await load(
      [
        'version: 1',
        'jobs:',
        '  - name: clean-{x}',
        "    run: find . -name '*.o' -exec rm {} +",
      ].join('\n'),
    );
    expect(pick(plan)).toEqual([
      { name: 'clean-{x}', command: "find . -name '*.o' -exec rm {} +", needs: [] },
    ]);
  });
});

describe('needs', () => {
  const yaml = [
    'version: 1',
    'jobs:',
    '  - name: setup',
    '    run: "true"',
    '  - name: compile-{item}',
    '    for_each: [a, b]',
    '    run: cc {}',
    '    needs: [setup]',
    '  - name: test-{item}',
    '    for_each: [a, b]',
    '    run: t {}',
    '    needs: ["compile-{}"]',
    '  - name: report',
    '    run: r',
    '    needs: ["compile-{item}", "test-{item}", setup, setup]',
    '  - name: zip',
    '    for_each: [a, b]',
    '    run: zip {}',
    '    needs: ["zip-after-{}"]',
    '  - name: zip-after-{}',
    '    for_each: [a, b]',
    '    run: "true"',
    '  - name: zip-all',
    '    run: "true"',
    '    needs: ["zip-after-{}"]',
  ].join('\n');

  it('expands a for_each name template to all its jobs, and pairs substituted needs per item', async () => {
    const { plan } = await load(yaml);
    expect(Object.fromEntries(plan.jobs.map((j) => [j.name, j.needs]))).toEqual({
      setup: [],
      'compile-a': ['setup'],
      'compile-b': ['setup'],
      'test-a': ['compile-a'],
      'test-b': ['compile-b'],
      report: ['compile-a', 'compile-b', 'test-a', 'test-b', 'setup'],
      // "zip-after-{}" names a job for each item, so it pairs per item
      'zip:a': ['zip-after-a'],
      'zip:b': ['zip-after-b'],
      // from a job without for_each, a for_each name template means all its jobs
      'zip-all': ['zip-after-a', 'zip-after-b'],
      'zip-after-a': [],
      'zip-after-b': [],
    });
  });
});

describe('job settings', () => {
  it('applies built-in defaults', async () => {
    const { plan, dir } = await load('version: 1\njobs:\n  - { name: a, run: "true" }\n');
    expect(plan).toEqual({
      manifestPath: path.join(dir, 'jobs.yaml'),
      pools: {},
      order: 'fifo',
      jobs: [
        {
          name: 'a',
          command: 'true',
          index: 0,
          priority: 0,
          needs: [],
          killGraceMs: 5000,
          retries: 0,
          backoff: { delayMs: 1000, factor: 2, maxMs: 60_000, jitter: true },
          shell: 'bash', // installed here; else /bin/sh (test/manifest/shell.test.ts)
          cwd: dir,
          env: {},
          allowFailure: false,
        },
      ],
    });
  });

  it('merges defaults under job keys; env and backoff key by key', async () => {
    const { plan, dir } = await load(
      [
        'version: 1',
        'workers: 3',
        'order: lifo',
        'pools: { cpu: { workers: 2 } }',
        'defaults:',
        '  timeout: 10m',
        '  kill_grace: 2s',
        '  retries: 1',
        '  priority: -5',
        '  pool: cpu',
        '  backoff: { delay: 500ms, factor: 3 }',
        '  shell: /bin/bash',
        '  cwd: work',
        '  env: { A: one, B: 2, C: true }',
        '  allow_failure: true',
        'jobs:',
        '  - name: a',
        '    run: x',
        '    timeout: 300%',
        '    retries: 4',
        '    backoff: { factor: 1.5, max: 5m, jitter: false }',
        '    env: { B: override, D: 1.5 }',
        '    cwd: /tmp',
        '    allow_failure: false',
        '  - name: b',
        '    run: y',
      ].join('\n'),
      { 'work/.keep': '' }, // a cwd must exist: a missing one is a manifest error
    );
    expect(plan.workers).toEqual({ min: 3, max: 3 });
    expect(plan.order).toBe('lifo');
    expect(plan.pools).toEqual({ cpu: { workers: 2 } });
    const [a, b] = plan.jobs;
    expect(a).toMatchObject({
      timeout: { percent: 300 },
      killGraceMs: 2000,
      retries: 4,
      priority: -5,
      pool: 'cpu',
      backoff: { delayMs: 500, factor: 1.5, maxMs: 300_000, jitter: false },
      shell: '/bin/bash',
      cwd: '/tmp',
      env: { A: 'one', B: 'override', C: 'true', D: '1.5' },
      allowFailure: false,
    });
    expect(b).toMatchObject({
      timeout: { ms: 600_000 },
      retries: 1,
      backoff: { delayMs: 500, factor: 3, maxMs: 60_000, jitter: true },
      cwd: path.join(dir, 'work'),
      env: { A: 'one', B: '2', C: 'true' },
      allowFailure: true,
    });
  });

  it('keeps { min, max } workers', async () => {
    const { plan } = await load(
      'version: 1\nworkers: { min: 2, max: 8 }\njobs: [{ name: a, run: x }]\n',
    );
    expect(plan.workers).toEqual({ min: 2, max: 8 });
  });

  it('loads the valid fixtures (YAML and tab-indented JSON)', async () => {
    const yamlPlan = await loadManifest('valid.yaml', { cwd: FIXTURES });
    expect(yamlPlan.jobs.map((j) => [j.name, j.needs])).toEqual([
      ['build', []],
      ['thumb-a', ['build']],
      ['thumb-b', ['build']],
      ['publish', ['thumb-a', 'thumb-b']],
      ['lint', []],
    ]);
    const jsonPlan = await loadManifest(path.join(FIXTURES, 'valid.json'));
    expect(jsonPlan.jobs.map((j) => j.name)).toEqual(['one', 'two']);
    expect(jsonPlan.jobs[1]?.timeout).toEqual({ percent: 150 });
  });

  it('supports YAML anchors and merge keys', async () => {
    const { plan } = await load(
      [
        'version: 1',
        'jobs:',
        '  - &base { name: a, run: x, retries: 2 }',
        '  - <<: *base',
        '    name: b',
      ].join('\n'),
    );
    expect(plan.jobs.map((j) => [j.name, j.retries])).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
  });
});

describe('reading from stdin', () => {
  it('reads the whole manifest, resolves cwd against opts.cwd and labels issues <stdin>', async () => {
    const dir = tempDir({ 'data/one.csv': '' });
    const stdin = Readable.from([
      'version: 1\njobs:\n',
      '  - { name: "c-{stem}", for_each: "data/*.csv", run: "wc -l {}" }\n',
    ]);
    const plan = await loadManifest('-', { stdin, cwd: dir });
    expect(plan.manifestPath).toBeNull();
    expect(pick(plan)).toEqual([{ name: 'c-one', command: 'wc -l data/one.csv', needs: [] }]);
    expect(plan.jobs[0]?.cwd).toBe(dir);

    const bad = Readable.from(['version: 1\njobs: []\n']);
    expect(await formattedIssues(loadManifest('-', { stdin: bad, cwd: dir }))).toEqual([
      '<stdin>:2:7: jobs: must list at least one job',
    ]);
  });
});

describe('reading files', () => {
  it('reports a missing file in one line, without a ManifestError', async () => {
    await expect(loadManifest('nope.yaml', { cwd: tempDir() })).rejects.toThrow(
      /^manifest not found: nope\.yaml$/,
    );
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'd.yaml'));
    await expect(loadManifest('d.yaml', { cwd: dir })).rejects.toMatchObject({
      name: 'UsageError',
      message: 'manifest d.yaml is a directory, not a file',
    });
    // an empty path is the folder to path.resolve: it is not called one
    await expect(loadManifest('', { cwd: dir })).rejects.toMatchObject({
      name: 'UsageError',
      message: "no manifest given: its path is empty ('')",
    });
  });
});
