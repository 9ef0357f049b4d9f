/** The quick way's YAML reader reads every plain scalar as `yaml` (YAML 1.2 core) does. */
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { mayDiffer, quickYaml } from '../../src/manifest/quick-yaml.js';
import { FIXTURES, YAML_SCALARS } from './helpers.js';

/** What `yaml` makes of `text` as the value of `k`, beside what the quick reader makes. */
function both(text: string): [unknown, unknown] {
  const doc = `k: ${text}\n`;
  return [quickYaml(doc), parse(doc)];
}

describe('quickYaml', () => {
  it.each(YAML_SCALARS)('reads %j as yaml does', (text) => {
    const [quick, careful] = both(text);
    expect(quick).toStrictEqual(careful);
  });

  it('reads any plain scalar made of number-ish characters as yaml does', () => {
    const scalar = fc
      .array(fc.constantFrom(...'0123456789+-._eExXoObB'.split(''), 'inf', 'nan', 'Inf', 'NaN'), {
        minLength: 1,
        maxLength: 8,
      })
      .map((parts) => parts.join(''))
      .filter((s) => !/^[-.]{1,3}$/.test(s) && !s.startsWith('- ')); // not a document marker or list
    fc.assert(
      fc.property(scalar, (text) => {
        let careful: unknown;
        try {
          careful = parse(`k: ${text}\n`);
        } catch {
          return; // not a plain scalar in yaml's eyes either
        }
        expect(quickYaml(`k: ${text}\n`)).toStrictEqual(careful);
      }),
      { numRuns: 2000 },
    );
  });

  it('sends a flow collection that goes on to the next line of a block the careful way', () => {
    // yaml refuses the second line as not indented enough; js-yaml takes it
    for (const text of ['env: {\n  A: 1 }', 'jobs:\n  - needs: [a,\n  b]', 'k: [\n]'])
      expect(mayDiffer(text), text).toBe(true);
    const json = JSON.stringify({ jobs: [{ name: 'a', run: 'echo {}', needs: [] }] }, null, 2);
    for (const text of [json, 'run: echo {} | tr a-z A-Z', 'env: { A: 1 }', 'k: } {'])
      expect(mayDiffer(text), text).toBe(false);
  });

  it('sends anchors, aliases and explicit tags the careful way', () => {
    const careful = ['a: &x 1', 'b: *x', 'c: !!int "3"', 'd: !local x', '- !!str 3', 'k:\n  *x'];
    careful.push('- - *x', '[a, *x]', '{ k: *x }', '? *x', '--- !!map', '-\t&a x', '[a,\n*x]');
    for (const text of careful) expect(mayDiffer(text), text).toBe(true);
    const quick = ['run: "[ ! -e x ] && echo a*b"', 'k: a&b', 'k: wow!', 'run: cd x && make'];
    quick.push('run: gzip -9 *.log', 'run: echo "$(ls *)"', 'for_each: "*.txt"', 'k: ! x');
    for (const text of quick) expect(mayDiffer(text), text).toBe(false);
    // the examples have && and globs in their commands: they still take the quick way
    for (const name of ['quickstart.yaml', 'pipeline.yaml']) {
      const text = fs.readFileSync(path.join(FIXTURES, '../examples', name), 'utf8');
      expect(mayDiffer(text), name).toBe(false);
    }
  });
});
