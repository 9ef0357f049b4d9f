import { describe, expect, it } from 'vitest';
import { substitute } from '../../src/manifest/index.js';

/**
 * GNU parallel's placeholders on the edge cases its manual documents ("If the input
 * line contains . after the last /, the last . until the end of the string will be
 * removed"; `{/}` is what follows the last `/`; `{//}` is dirname), with the values
 * parallel 20221122 prints (`test/oracle/parallel.sh` compares them live).
 */
const PARALLEL: [item: string, dotted: string, base: string, dir: string, baseDotted: string][] = [
  ['.bashrc', '', '.bashrc', '.', ''],
  ['dir/.bashrc', 'dir/', '.bashrc', 'dir', ''],
  ['.', '', '.', '.', ''],
  ['..', '.', '..', '.', '.'],
  ['a/b/', 'a/b/', '', 'a', ''],
  ['x.y/', 'x.y/', '', '.', ''],
  ['a//b//c.txt', 'a//b//c', 'c.txt', 'a//b', 'c'],
  ['/', '/', '', '/', ''],
  ['/x', '/x', 'x', '/', 'x'],
  ['plain', 'plain', 'plain', '.', 'plain'],
  ['a.b.c', 'a.b', 'a.b.c', '.', 'a.b'],
  ['dir.d/file', 'dir.d/file', 'file', 'dir.d', 'file'],
  ['img/sub/cat.tar.gz', 'img/sub/cat.tar', 'cat.tar.gz', 'img/sub', 'cat.tar'],
];

describe("parallel's placeholders on edge cases", () => {
  it.each(PARALLEL)('%j', (item, dotted, base, dir, baseDotted) => {
    const raw = (t: string) => substitute(t, item, 1, false);
    expect(raw('{}|{.}|{/}|{//}|{/.}')).toBe([item, dotted, base, dir, baseDotted].join('|'));
    // {1…} forms are the same for the first source
    expect(raw('{1}|{1.}|{1/}|{1//}|{1/.}')).toBe([item, dotted, base, dir, baseDotted].join('|'));
  });
});

/** jobrun's names differ where parallel surprises: a leading dot starts a name, not an extension. */
const NAMED: [item: string, stem: string, noext: string, ext: string][] = [
  ['.bashrc', '.bashrc', '.bashrc', ''],
  ['dir/.bashrc', '.bashrc', 'dir/.bashrc', ''],
  ['.', '.', '.', ''],
  ['..', '..', '..', ''],
  ['a/b/', '', 'a/b/', ''],
  ['x.y/', '', 'x.y/', ''],
  ['a//b//c.txt', 'c', 'a//b//c', 'txt'],
  ['dir/.profile.bak', '.profile', 'dir/.profile', 'bak'],
];

describe("jobrun's named placeholders", () => {
  it.each(NAMED)('%j', (item, stem, noext, ext) => {
    expect(substitute('{stem}|{noext}|{ext}', item, 1, false)).toBe([stem, noext, ext].join('|'));
    expect(substitute('{dir}|{base}|{file}', item, 1, false)).toBe(
      substitute('{//}|{/}|{}', item, 1, false),
    );
  });

  it('{n} beyond the last source is empty, {0} and unknown names are left alone', () => {
    const item = { args: ['a', 'b'] };
    expect(substitute('{2}|{3}|{0}|{nope}|{#}', item, 7, false)).toBe('b||{0}|{nope}|7');
    expect(substitute('{} {2/.}', { args: ['x y', 'd/f.c'] }, 1, true)).toBe("'x y' d/f.c f");
  });

  it('a named column wins over the built-in name of the same spelling', () => {
    const item = { args: ['v1', 'v2'], named: { base: 'v1', host: 'v2' } };
    expect(substitute('{base} {host} {1}', item, 1, false)).toBe('v1 v2 v1');
  });
});
