/**
 * Placeholders are quoted for the shell context they sit in: the value reaches the
 * program as exactly its bytes, through the real /bin/sh, or the template is refused.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileAppending, compileCommand, TemplateProblem } from '../../src/manifest/quote.js';
import { encodeBytes } from '../../src/model/bytes.js';
import { cleanTempDirs, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

/** Runs `command` (raw bytes allowed) through `sh FILE` in an empty folder; its stdout, bytes. */
function runScript(command: string): { out: Buffer; leftovers: string[] } {
  const dir = tempDir();
  const file = path.join(dir, 'job.sh');
  fs.writeFileSync(file, encodeBytes(command));
  const out = execFileSync('/bin/sh', [file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const leftovers = fs.readdirSync(dir).filter((f) => f !== 'job.sh');
  return { out, leftovers };
}

/** What `printf '%s\0' ARGS…` prints for these arguments. */
const argv = (...args: string[]) => Buffer.concat(args.map((a) => encodeBytes(`${a}\0`)));

/** Templates with `{}` in every context a value may sit in, and the arguments each must print. */
const TEMPLATES: [string, (v: string) => string[]][] = [
  [String.raw`printf '%s\0' {}`, (v) => [v]],
  [String.raw`printf '%s\0' pre{}post`, (v) => [`pre${v}post`]],
  [String.raw`printf '%s\0' '<{}>'`, (v) => [`<${v}>`]],
  [String.raw`printf '%s\0' "<{}>"`, (v) => [`<${v}>`]],
  [String.raw`printf '%s\0' "a'{}'b" 'a"{}"b'`, (v) => [`a'${v}'b`, `a"${v}"b`]],
  [String.raw`printf '%s\0' "$(printf '%s.' {})"`, (v) => [`${v}.`]],
  [
    String.raw`printf '%s\0' "$(printf '%s.' "{}")" "$(printf '%s\n' '{}' | tr -d '\n'; printf .)"`,
    (v) => [`${v}.`, `${v.replace(/\n/g, '')}.`],
  ],
  [String.raw`printf '%s\0' $(printf x)'{}'$(printf y)`, (v) => [`x${v}y`]],
  [String.raw`X={}; printf '%s\0' "$X"`, (v) => [v]],
  [String.raw`case {} in *) printf '%s\0' {} ;; esac # {}`, (v) => [v]],
  ['printf \'%s\\0\' "{}" \\\n  {}', (v) => [v, v]],
  [String.raw`printf '%s\0' {} {#}`, (v) => [v, '3']],
  [
    'printf \'%s\\0\' "$(( $(printf %s {} | wc -c) * 0 ))" "${U:-$(printf \'%s.\' {})}"',
    (v) => ['0', `${v}.`],
  ],
];

describe('placeholders by shell context', () => {
  it.each([
    ['echo {}', "echo 'a b'"],
    ['echo "x: {}"', `echo "x: "'a b'""`],
    ["echo 'x: {}'", `echo 'x: ''a b'''`],
    ['echo "$(cat {})"', `echo "$(cat 'a b')"`],
    ['echo "$(cat "{}")"', `echo "$(cat ""'a b'"")"`],
    ['echo {} # {}', "echo 'a b' # {}"],
  ])('%s → %s', (template, expected) => {
    expect(compileCommand(template)('a b', 1)).toBe(expected);
  });

  it('leaves plain values bare in plain words, and quotes them where the word is special', () => {
    const fill = compileCommand('convert {} out/{/.}.webp; echo {{}} ~{} X={}');
    expect(fill('img/a.png', 1)).toBe(
      "convert img/a.png out/a.webp; echo {'img/a.png'} ~'img/a.png' X='img/a.png'",
    );
  });

  it('quotes an item that would be an assignment or a keyword in command position', () => {
    expect(compileCommand('{}')('X=1', 1)).toBe("'X=1'");
    expect(compileCommand('{} arg')('if', 1)).toBe("'if' arg");
    expect(compileCommand('{}=1')('X', 1)).toBe("'X'=1");
  });

  it.each([
    ['echo `cat {}`', 'inside backticks'],
    ['echo "`cat {}`"', 'inside backticks'],
    ['echo ${X:-{}}', 'inside ${…}'],
    ['echo "${X:-"{}"}"', 'inside ${…}'],
    ['echo $(( {} + 1 ))', 'inside $((…))'],
    ['echo `echo $(cat {})`', 'inside backticks'],
    ["echo $'{}'", "inside $'…'"],
    ['cat <<EOF\n{}\nEOF', 'inside a here-document'],
    ["cat <<'EOF'\nx {}\nEOF", 'inside a here-document'],
    ['cat <<{}\nx\n', 'here-document delimiter'],
    ['echo \\{}', 'right after a backslash'],
    ['echo "\\{}"', 'right after a backslash'],
    ['echo "$(case x in x) echo;; esac; echo {})"', 'after a case statement'],
    ["echo '{}", "whose ' is never closed"],
  ])('refuses %j (%s)', (template, where) => {
    const err = (() => {
      try {
        compileCommand(template);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TemplateProblem);
    expect((err as TemplateProblem).message).toContain(where);
  });

  it('still reads what follows a here-document, a comment and ${…}', () => {
    const fill = compileCommand("cat <<'EOF' >/dev/null\n'\"`\nEOF\necho ${HOME:+x} {} # it's");
    expect(fill('a b', 1)).toBe("cat <<'EOF' >/dev/null\n'\"`\nEOF\necho ${HOME:+x} 'a b' # it's");
  });

  it('appends the item as the last argument, but not into a comment', () => {
    expect(compileAppending('gzip -9')('a b', 1)).toBe("gzip -9 'a b'");
    expect(() => compileAppending('gzip -9 # note')).toThrow(TemplateProblem);
  });

  it.each(TEMPLATES)('%s: the value arrives intact through /bin/sh', (template, expected) => {
    const value = 'it\'s "$(touch PWNED)" `touch PWNED` ${x} \\ \n*';
    const { out, leftovers } = runScript(compileCommand(template)(value, 3));
    expect(out).toEqual(argv(...expected(value)));
    expect(leftovers).toEqual([]);
  });
});

/** One character of a hostile value: shell syntax, raw bytes, any text. */
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
    '&',
    '|',
    '(',
    ')',
    '{',
    '}',
    '<',
    '>',
    '*',
    '?',
    '[',
    ']',
    '~',
    '=',
    '#',
    '!',
    '-',
    ',',
    '%',
    ':',
    '..',
    '$(touch PWNED)',
    '`touch PWNED`',
    "'; touch PWNED; '",
    '"; touch PWNED; "',
    'EOF',
    'if',
    'é',
    '😀',
  ),
  // raw non-UTF-8 bytes, carried the surrogateescape way
  fc.integer({ min: 0x80, max: 0xff }).map((b) => String.fromCharCode(0xdc00 + b)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => !c.includes('\0')),
);

describe('placeholder quoting (property, through the real /bin/sh)', () => {
  it('every value reaches printf as exactly its bytes, in every context, and nothing else runs', () => {
    const script = TEMPLATES.map(([t]) => compileCommand(t));
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 10 }), (value) => {
        const command = script.map((fill) => fill(value, 3)).join('\n');
        const { out, leftovers } = runScript(command);
        expect(out).toEqual(Buffer.concat(TEMPLATES.map(([, e]) => argv(...e(value)))));
        expect(leftovers).toEqual([]);
      }),
      { numRuns: 40 },
    );
  }, 60_000);
});
