import { afterAll, describe, expect, it } from 'vitest';
import { overriddenStage } from '../../src/cli/job-source.js';
import { fillSettings } from '../../src/manifest/item-settings.js';
import { manifestJsonSchema, parseManifest } from '../../src/manifest/index.js';
import { stagePlan } from '../../src/manifest/stages.js';
import type { Plan, StageSpec } from '../../src/model/job.js';
import { cleanTempDirs, formattedIssues, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

const CSV = 'name,prio,pool,t\na,1,cpu,5s\nb,5,gpu,200%\nc,-3,cpu,90\n';
const POOLS = ['pools:', '  cpu: { workers: 1 }', '  gpu: { workers: 1 }'];

/** Reads `lines` as m.yaml beside `files` both ways (quick and careful), which must agree. */
async function plan(lines: string[], files: Record<string, string> = {}): Promise<Plan> {
  const text = lines.join('\n') + '\n';
  const opts = { file: 'm.yaml', manifestPath: null, baseDir: tempDir(files) };
  const quick = await parseManifest(text, opts);
  expect(await parseManifest(text, { ...opts, fast: false })).toEqual(quick);
  return quick;
}

/** The issues of `lines` as m.yaml beside `files`, read the careful way (with positions). */
function issues(lines: string[], files: Record<string, string> = {}): Promise<string[]> {
  const opts = { file: 'm.yaml', manifestPath: null, baseDir: tempDir(files) };
  return formattedIssues(parseManifest(lines.join('\n') + '\n', opts));
}

const csvJob = (...settings: string[]) => [
  'version: 1',
  ...POOLS,
  'jobs:',
  '  - name: j-{name}',
  '    for_each: { csv: items.csv }',
  ...settings.map((s) => `    ${s}`),
  '    run: echo {name}',
];

describe('settings filled in per item', () => {
  it('takes priority, pool and timeout from each CSV row, by both readers', async () => {
    const { jobs } = await plan(csvJob('priority: "{prio}"', 'pool: "{pool}"', 'timeout: "{t}"'), {
      'items.csv': CSV,
    });
    expect(jobs.map((j) => [j.name, j.priority, j.pool, j.timeout])).toEqual([
      ['j-a', 1, 'cpu', { ms: 5000 }],
      ['j-b', 5, 'gpu', { percent: 200 }],
      ['j-c', -3, 'cpu', { ms: 90_000 }],
    ]);
  });

  it('fills in a placeholder written in defaults, and {} of a list', async () => {
    const { jobs } = await plan([
      'version: 1',
      'defaults: { priority: "{}" }',
      'jobs:',
      '  - name: n-{}',
      '    for_each: [3, 1, 2]',
      '    run: echo {}',
    ]);
    expect(jobs.map((j) => j.priority)).toEqual([3, 1, 2]);
  });

  it('reports each bad value at its setting, naming the job and the value', async () => {
    const bad = 'name,prio,pool,t\na,high,cpu,5s\nb,5,gpux,soon\n';
    expect(
      await issues(csvJob('priority: "{prio}"', 'pool: "{pool}"', 'timeout: "{t}"'), {
        'items.csv': bad,
      }),
    ).toEqual([
      'm.yaml:8:15: priority "{prio}" of job j-a: "high" is not an integer',
      'm.yaml:9:11: pool "{pool}" of job j-b: "gpux" is not a declared pool (defined pools: cpu, gpu); did you mean "gpu"?',
      'm.yaml:10:14: timeout "{t}" of job j-b: invalid duration "soon" (use e.g. 500ms, 30s, 5m, 1h, or a number of seconds)',
    ]);
  });

  it('shows the first bad values of a setting and counts the rest', async () => {
    const rows = ['name,prio', ...['a', 'b', 'c', 'd', 'e'].map((n) => `${n},x${n}`)];
    const found = await issues(csvJob('priority: "{prio}"'), { 'items.csv': rows.join('\n') });
    expect(found).toEqual([
      'm.yaml:8:15: priority "{prio}" of job j-a: "xa" is not an integer',
      'm.yaml:8:15: priority "{prio}" of job j-b: "xb" is not an integer',
      'm.yaml:8:15: priority "{prio}" of job j-c: "xc" is not an integer',
      'm.yaml:8:15: priority: 2 more jobs of j-{name} with a bad value',
    ]);
  });

  it('refuses a placeholder that no item fills in, once when it is in defaults', async () => {
    const found = await issues([
      'version: 1',
      'defaults: { timeout: "{t}" }',
      'jobs:',
      '  - { name: x, run: echo x }',
      '  - { name: y, run: echo y }',
    ]);
    expect(found).toEqual([
      'm.yaml:2:22: timeout "{t}" of job x: a placeholder is filled in by the items of a for_each, and this job has none',
    ]);
  });

  it('keeps the schema errors for values that are no placeholder', async () => {
    const found = await issues([
      'version: 1',
      'jobs:',
      '  - { name: x, run: echo, priority: high }',
      '  - { name: y, run: echo, priority: 1.5, timeout: soon }',
    ]);
    expect(found).toEqual([
      'm.yaml:3:37: jobs[0].priority: expected an integer, or a placeholder such as "{prio}" that each item fills in',
      'm.yaml:4:37: jobs[1].priority: expected an integer',
      'm.yaml:4:51: jobs[1].timeout: invalid duration "soon" (use e.g. 500ms, 30s, 5m, 1h, or a number of seconds)',
    ]);
  });

  it('says so in `jobrun schema`', () => {
    const schema = manifestJsonSchema() as {
      properties: { defaults: { properties: Record<string, { anyOf?: { type: string }[] }> } };
    };
    const { priority } = schema.properties.defaults.properties;
    expect(priority?.anyOf?.map((t) => t.type)).toEqual(['integer', 'string']);
  });
});

describe('fillSettings', () => {
  const written = { priority: '{1}', pool: '{2}', timeout: '{3}' };
  const fill = (...args: string[]) => fillSettings(written, { args }, 1, 'job-x', ['cpu']);

  it('reads integers with a sign, pools declared, and timeouts', () => {
    expect(fill('+7', 'cpu', '300%').values).toEqual({
      priority: 7,
      pool: 'cpu',
      timeout: { percent: 300 },
    });
    expect(fill('-2', 'cpu', '1m').values.priority).toBe(-2);
  });

  it('refuses what is no integer, an undeclared pool and a bad timeout, each by name', () => {
    const { values, problems } = fill('1e3', '', '0');
    expect(values).toEqual({});
    expect(problems.map((p) => p.message)).toEqual([
      'priority "{1}" of job job-x: "1e3" is not an integer',
      'pool "{2}" of job job-x: "" is not a declared pool (defined pools: cpu)',
      'timeout "{3}" of job job-x: must be greater than 0 (leave it unset for no timeout)',
    ]);
    expect(fill('9007199254740993', 'cpu', '1s').problems[0]?.message).toContain(
      'is not an integer',
    );
  });
});

describe('a stage fills its settings in as it expands', () => {
  const stage: StageSpec = {
    name: 's-{}',
    run: 'echo {}',
    from: 'list',
    needs: [],
    settings: {
      priority: 0,
      killGraceMs: 1000,
      retries: 0,
      backoff: { delayMs: 1, factor: 2, maxMs: 1, jitter: false },
      shell: '/bin/sh',
      cwd: '/',
      env: {},
      allowFailure: false,
    },
    // a stage's item is one string: its dirname is the priority, its basename the pool
    perItem: { priority: '{//}', pool: '{/}' },
  };

  it('refuses only the job whose item is bad, with the message', () => {
    const jobs = stagePlan([stage], ['cpu']).expand(stage, ['4/cpu', 'high/cpu', '2/gpu']);
    expect(jobs.map((j) => [j.name, j.priority, j.pool, j.refused])).toEqual([
      ['s-4/cpu', 4, 'cpu', undefined],
      ['s-high/cpu', 0, 'cpu', 'priority "{//}" of job s-high/cpu: "high" is not an integer'],
      [
        's-2/gpu',
        2,
        undefined,
        'pool "{/}" of job s-2/gpu: "gpu" is not a declared pool (defined pools: cpu); did you mean "cpu"?',
      ],
    ]);
  });

  it('lets --timeout win over a timeout each item fills in', () => {
    const timed = { ...stage, perItem: { priority: '{//}', timeout: '{/}' } };
    const overridden = overriddenStage(timed, { timeout: { ms: 5000 } });
    expect(overridden.perItem).toEqual({ priority: '{//}' });
    expect(overridden.settings.timeout).toEqual({ ms: 5000 });
    const [only] = stagePlan([overridden], ['cpu']).expand(overridden, ['2/1s']);
    expect(only).toMatchObject({ priority: 2, timeout: { ms: 5000 } });
  });
});

describe('a stage template', () => {
  it('is refused when read, not when its items come, if a placeholder cannot go where it stands', async () => {
    const lines = [
      'version: 1',
      'jobs:',
      '  - name: src',
      '    run: seq 1 3',
      '  - name: s-{}',
      '    for_each: { from: src }',
      '    run: "echo $(( {} + 1 ))"',
    ];
    expect(await issues(lines)).toEqual([
      expect.stringMatching(/^m\.yaml:7:\d+: .*inside \$\(\(…\)\)/),
    ]);
    const ok = lines.with(6, '    run: "echo $(( $(cat {}) + 1 ))"');
    expect((await plan(ok)).stages?.map((s) => s.name)).toEqual(['s-{}']);
  });
});
