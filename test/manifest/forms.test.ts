/**
 * Manifests as people write them, coming from GitHub Actions or compose: `jobs:` as a
 * mapping, `needs:` as one name, no `version:`; and the hints for the first mistakes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/manifest/index.js';
import { cleanTempDirs, formattedIssues, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

const both = async (text: string) => {
  const baseDir = tempDir();
  const opts = { file: 'm.yaml', manifestPath: null, baseDir };
  const quick = await parseManifest(text, opts);
  const careful = await parseManifest(text, { ...opts, fast: false });
  expect(quick).toEqual(careful);
  return quick;
};
const issues = (text: string) =>
  formattedIssues(parseManifest(text, { file: 'm.yaml', manifestPath: null, baseDir: tempDir() }));

describe('manifest forms', () => {
  it('reads jobs: as a mapping of name → job, needs: as one name, without version:', async () => {
    const mapping = await both(
      [
        'jobs:',
        '  build:',
        '    run: make',
        '  test:',
        '    needs: build',
        '    run: make test',
        '',
      ].join('\n'),
    );
    const list = await both(
      [
        'version: 1',
        'jobs:',
        '  - { name: build, run: make }',
        '  - { name: test, needs: [build], run: make test }',
        '',
      ].join('\n'),
    );
    expect(mapping.jobs.map((j) => [j.name, j.command, j.needs])).toEqual([
      ['build', 'make', []],
      ['test', 'make test', ['build']],
    ]);
    const noCwd = ({ cwd: _cwd, ...job }: (typeof list.jobs)[number]) => job;
    expect(mapping.jobs.map(noCwd)).toEqual(list.jobs.map(noCwd));
  });

  it('places issues of a mapping job at its own lines', async () => {
    expect(await issues('jobs:\n  a:\n    run: x\n  b:\n    run: y\n    retries: -1\n')).toEqual([
      'm.yaml:6:14: jobs[1].retries: must be 0 or more',
    ]);
    expect(await issues('jobs:\n  a:\n    name: other\n    run: x\n')).toEqual([
      'm.yaml:3:11: jobs[0].name: a job in a jobs: mapping is named by its key; drop name: here',
    ]);
  });

  it('says "did you mean run" for command:, cmd: and script:, without "missing run" too', async () => {
    expect(
      await issues(
        'jobs:\n  a: { command: x }\n  b: { cmd: x }\n  c: { script: x, depends_on: a }\n',
      ),
    ).toEqual([
      'm.yaml:2:8: unknown key "command"; did you mean "run"?',
      'm.yaml:3:8: unknown key "cmd"; did you mean "run"?',
      'm.yaml:4:8: unknown key "script"; did you mean "run"?',
      'm.yaml:4:19: unknown key "depends_on"; did you mean "needs"?',
    ]);
  });

  it('says to quote a value that YAML reads as a mapping because of {', async () => {
    const job = (line: string) => issues(`jobs:\n  - name: a-{}\n    for_each: [x]\n    ${line}\n`);
    expect(await job('needs: [count-{stem}]')).toEqual([
      'm.yaml:4:5: syntax error: a list item with { in it must be quoted (YAML reads { as a mapping); write: needs: ["count-{stem}"]',
    ]);
    expect(await job('run: {} --verbose')).toEqual([
      'm.yaml:4:5: syntax error: a value that starts with { must be quoted (YAML reads { as a mapping); write: run: "{} --verbose"',
    ]);
    // inside a mapping meant as one, the value is quoted, not the mapping
    expect(
      await issues(
        'jobs:\n  - name: s\n    run: echo a\n  - name: t-{item}\n    for_each: { from: s-{item} }\n    run: echo\n',
      ),
    ).toContainEqual(
      'm.yaml:5:5: syntax error: a value with { in it must be quoted (YAML reads { as a mapping); write: for_each: { from: "s-{item}" }',
    );
  });

  it('says to quote a placeholder alone, which YAML reads as a mapping with no error of its own', async () => {
    const job = (line: string) => issues(`jobs:\n  - name: a-{}\n    for_each: [x]\n    ${line}\n`);
    expect(await job('run: {file}')).toEqual([
      'm.yaml:4:10: jobs[0].run: a value that starts with { must be quoted (YAML reads { as a mapping); write: run: "{file}"',
    ]);
    expect(await job('needs: [{stem}]\n    run: echo')).toEqual([
      'm.yaml:4:13: jobs[0].needs[0]: a list item with { in it must be quoted (YAML reads { as a mapping); write: needs: ["{stem}"]',
    ]);
    // a mapping with values was meant as one: no hint
    expect(await job('run: { file: x }')).toEqual([
      'm.yaml:4:10: jobs[0].run: expected a string, got a mapping',
    ]);
  });

  it('checks placeholder names at validate, with "did you mean"', async () => {
    const text = [
      'jobs:',
      '  - name: "t-{stme}"',
      '    for_each: { matrix: { os: [a, b] } }',
      '    run: echo {itme} {os} {Os}',
      '    needs: ["u-{oss}"]',
      '  - { name: "u-{os}", for_each: { matrix: { os: [a, b] } }, run: "echo {os}" }',
      '',
    ].join('\n');
    expect(await issues(text)).toEqual([
      'm.yaml:2:11: unknown placeholder {stme}; did you mean {stem}?',
      'm.yaml:4:10: unknown placeholder {itme}; did you mean {item}?',
      'm.yaml:4:10: unknown placeholder {Os}; did you mean {os}?',
      'm.yaml:5:13: unknown placeholder {oss}; did you mean {os}?',
      'm.yaml:5:13: needs unknown job "u-{oss}"; did you mean "u-{os}"?',
    ]);
  });

  it("refuses GNU parallel's {%} and {##}, saying what to use; bash's ${##} is left alone", async () => {
    const text = 'jobs:\n  - name: t-{}\n    for_each: [a]\n    run: echo {%} {##} ${##}\n';
    expect(await issues(text)).toEqual([
      `m.yaml:4:10: unknown placeholder {%} (GNU parallel's job slot; each job gets it in its environment: "$JOBRUN_SLOT")`,
      "m.yaml:4:10: unknown placeholder {##} (GNU parallel's number of jobs; jobrun has none, as streamed input has no total)",
    ]);
  });

  it('leaves braces alone that are far from any placeholder (jq, awk) or outside for_each', async () => {
    const plan = await both(
      [
        'jobs:',
        '  - { name: q, for_each: "*.json", run: "jq \'{name}\' {} | awk \'{print}\'" }',
        '  - { name: lone, run: "echo {itme}" }',
        '',
      ]
        .join('\n')
        .replace('"*.json"', '[a.json]'),
    );
    expect(plan.jobs.map((j) => j.command)).toEqual([
      "jq '{name}' a.json | awk '{print}'",
      'echo {itme}',
    ]);
  });
});
