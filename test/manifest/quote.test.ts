import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { hasPlaceholder, loadManifest, shellQuote, substitute } from '../../src/manifest/index.js';
import { substituteGlob } from '../../src/manifest/quote.js';
import { cleanTempDirs, sh, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

const NASTY = [
  'plain',
  'with space',
  "it's",
  'say "hi"',
  '$(touch PWNED)',
  '`touch PWNED`',
  '${HOME}',
  '$HOME',
  'a;b',
  'a && b || c',
  'a|b>c<d',
  'line\nbreak',
  'tab\there',
  '',
  ' ',
  "''",
  "'\\''",
  '\\',
  '*',
  '?',
  '~',
  '#comment',
  '!x',
  '-n',
  'ünïcødé ✓ 😀',
  '{a,b}',
];

describe('shellQuote', () => {
  it('leaves values made of safe characters bare', () => {
    for (const v of ['a', 'img/a.png', 'A-Z_0.9', 'user@host:1', '50%', 'a+b-c']) {
      expect(shellQuote(v)).toBe(v);
    }
  });

  it('quotes = (an assignment in command position), commas (brace expansion) and keywords', () => {
    expect(shellQuote('X=1')).toBe("'X=1'");
    expect(shellQuote('a,b')).toBe("'a,b'");
    expect(shellQuote('if')).toBe("'if'");
  });

  it("single-quotes everything else, writing a quote as '\\''", () => {
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(x)')).toBe("'$(x)'");
  });

  it.each(NASTY)('round-trips %j through /bin/sh as one argument', (value) => {
    expect(sh(`printf '%s\\n' ${shellQuote(value)}`)).toBe(`${value}\n`);
    expect(sh(`set -- ${shellQuote(value)}; echo $#`)).toBe('1\n');
  });

  it('round-trips arbitrary strings (property)', () => {
    const unit = fc.oneof(
      fc.constantFrom(
        "'",
        '"',
        '$',
        '`',
        '\\',
        '\n',
        '\t',
        ' ',
        ';',
        '(',
        ')',
        '*',
        '?',
        '~',
        '{',
        '}',
        '!',
        '#',
        '&',
        '|',
        '<',
        '>',
        'é',
        '😀',
      ),
      fc.string({ minLength: 1, maxLength: 1 }).filter((c) => c !== '\0'),
    );
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit, maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        (values) => {
          const out = sh(
            `for a in ${values.map(shellQuote).join(' ')}; do printf '[%s]' "$a"; done`,
          );
          expect(out).toBe(values.map((v) => `[${v}]`).join(''));
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('substitute', () => {
  const item = 'photos/2024/beach day.tar.gz';

  it.each([
    ['{file}', item],
    ['{}', item],
    ['{item}', item],
    ['{dir}', 'photos/2024'],
    ['{//}', 'photos/2024'],
    ['{base}', 'beach day.tar.gz'],
    ['{/}', 'beach day.tar.gz'],
    ['{stem}', 'beach day.tar'],
    ['{/.}', 'beach day.tar'],
    ['{noext}', 'photos/2024/beach day.tar'],
    ['{.}', 'photos/2024/beach day.tar'],
    ['{ext}', 'gz'],
    ['{index}', '7'],
    ['{#}', '7'],
  ])('%s → %j (raw)', (template, value) => {
    expect(substitute(template, item, 7, false)).toBe(value);
  });

  it('quotes each substituted value when asked', () => {
    expect(substitute('convert {} out/{/.}.webp', item, 1, true)).toBe(
      "convert 'photos/2024/beach day.tar.gz' out/'beach day.tar'.webp",
    );
    expect(sh(`printf '%s\\n' ${substitute('out/{/.}.webp', item, 1, true)}`)).toBe(
      'out/beach day.tar.webp\n',
    );
  });

  it('escapes a value’s glob characters in a glob template, keeping the template’s own', () => {
    expect(substituteGlob('out/{base}-*.n', 'd/!a?[1]{x}(y)|\\z*', 1)).toBe(
      'out/\\!a\\?\\[1\\]\\{x\\}\\(y\\)\\|\\\\z\\*-*.n',
    );
    expect(substituteGlob('out/{base}.n', 'd/a+b@c,d.txt', 1)).toBe('out/a+b@c,d.txt.n');
  });

  it('handles items without folder or extension, and dotfiles', () => {
    expect(substitute('{dir}|{stem}|{ext}|{noext}', 'a.txt', 1, false)).toBe('.|a|txt|a');
    expect(substitute('{dir}|{stem}|{ext}|{noext}', 'Makefile', 1, false)).toBe(
      '.|Makefile||Makefile',
    );
    expect(substitute('{stem}|{ext}', 'conf/.bashrc', 1, false)).toBe('.bashrc|');
    expect(substitute('[{ext}]', 'Makefile', 1, true)).toBe("['']");
  });

  it('leaves unknown braces alone (shell brace expansion, ${VAR}, find -exec {} +)', () => {
    const template = 'cp {a,b} ${HOME} {foo} { } {{}} x';
    // the value inside bash's {…} is quoted, so `1..3` or `a,b` cannot expand there
    expect(substitute(template, 'v', 1, true)).toBe("cp {a,b} ${HOME} {foo} { } {'v'} x");
  });

  it('substitutes every occurrence', () => {
    expect(substitute('{} {} {index}', 'a b', 3, true)).toBe("'a b' 'a b' 3");
  });
});

describe('hasPlaceholder', () => {
  it.each(['{}', 'x-{stem}', '{//}', '{/}', '{/.}', '{.}', '{#}', '{index}', '{ext}'])(
    'finds %s',
    (t) => {
      expect(hasPlaceholder(t)).toBe(true);
    },
  );
  it.each(['plain', '{a,b}', '${HOME}', '{foo}', '{ }', ''])('finds none in %j', (t) => {
    expect(hasPlaceholder(t)).toBe(false);
  });
});

describe('for_each over hostile file names', () => {
  const hostile = [
    'x;touch PWNED;.txt',
    '$(touch PWNED).txt',
    '`touch PWNED`.txt',
    "it's & done.txt",
    'new\nline.txt',
    '-n.txt',
  ];

  it('runs each file name as one argument and never as a command', async () => {
    const dir = tempDir(Object.fromEntries(hostile.map((f) => [f, ''])));
    fs.writeFileSync(
      path.join(dir, 'jobs.yaml'),
      [
        'version: 1',
        'jobs:',
        '  - name: show-{index}',
        '    for_each: "*.txt"',
        `    run: printf '[%s|%s|%s]' {} {/.} {.}; printf '%s' {ext} > out-{index}.log`,
      ].join('\n'),
    );
    const plan = await loadManifest(path.join(dir, 'jobs.yaml'));
    expect(plan.jobs).toHaveLength(hostile.length);
    const printed = plan.jobs.map((job) => sh(job.command, job.cwd));
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
    const expected = [...hostile].sort().map((f) => `[${f}|${f.slice(0, -4)}|${f.slice(0, -4)}]`);
    expect(printed).toEqual(expected);
    expect(fs.readFileSync(path.join(dir, 'out-1.log'), 'utf8')).toBe('txt');
  });
});
