/**
 * Reads a command template the way `/bin/sh` will, to learn the shell context each
 * placeholder sits in: a bare word, inside `'…'`, or inside `"…"` (at any depth of
 * `$(…)`). Only there can a value be quoted so that it reaches the program as exactly
 * its bytes. Everywhere else (backticks, `${…}`, `$((…))`, `$'…'`, here-documents, after
 * a backslash, after a `case` inside `$(…)` whose end a simple reader cannot be sure
 * of) the template is refused with a `TemplateProblem` naming the placeholder and the
 * context. Placeholders in comments are left as written: they never reach a program.
 *
 * The reader follows POSIX sh (dash) and agrees with bash on everything it accepts.
 */

/** Where a placeholder's value lands, and how `quote.ts` must write it there. */
export interface Slot {
  /** The placeholder's key (the text between the braces). */
  key: string;
  context: 'bare' | 'single' | 'double';
  /**
   * Bare slots only: the word around it holds nothing but characters that need no
   * quoting (and other placeholders), so a value made of such characters can stay bare.
   */
  plainWord: boolean;
  /** Bare slots only: the placeholder is the whole word (a value like `if` must be quoted). */
  wholeWord: boolean;
}

/** A template cut into literal text and slots; rendering joins them. */
export type Piece = string | Slot;

/** Why a template cannot carry values safely; `offset` is where the placeholder starts. */
export class TemplateProblem extends Error {
  constructor(
    readonly placeholder: string,
    readonly where: string,
    readonly offset: number,
  ) {
    super(
      `placeholder ${placeholder} ${where}, where no quoting can keep its value intact; ` +
        'move it into a plain word, \'…\', "…" or $(…)',
    );
  }
}

/** Characters that mean nothing to the shell inside a word (bash brace expansion included). */
export const PLAIN_CHAR = /[A-Za-z0-9_./@%+:-]/;
const BLANK = /[ \t\n]/;
const OPERATOR = /[;&|()<>]/;

type Kind = 'top' | 'single' | 'double' | 'backtick' | 'param' | 'arith' | 'ansi';

interface Frame {
  kind: Kind;
  /** For `top` frames inside `$(…)`: open parentheses not yet closed. */
  depth: number;
  /** True for the outermost frame (the template itself). */
  outer: boolean;
  /** Set when placeholders here cannot be quoted: the context, in words. */
  refuse?: string;
  /** `top` frames: is the next character the start of a word, and which word is this? */
  wordStart: boolean;
  word: number;
}

const OPENER: Record<Kind, string> = {
  top: '$(',
  single: "'",
  double: '"',
  backtick: '`',
  param: '${',
  arith: '$((',
  ansi: "$'",
};

const REFUSE: Partial<Record<Kind, string>> = {
  backtick: 'inside backticks `…` (use $(…) instead)',
  param: 'inside ${…}',
  arith: 'inside $((…))',
  ansi: "inside $'…'",
};

/**
 * Cuts `template` into literal text and slots for the placeholders `pattern` finds
 * (a sticky or global regex whose group 1 is the key). Throws `TemplateProblem`.
 */
export function scanTemplate(template: string, pattern: RegExp): Piece[] {
  return new Scanner(template, pattern).run();
}

class Scanner {
  private readonly pieces: Piece[] = [];
  private readonly stack: Frame[] = [
    { kind: 'top', depth: 0, outer: true, wordStart: true, word: 0 },
  ];
  private literalFrom = 0;
  private i = 0;
  private words = 0;
  private readonly plainWords = new Map<number, boolean>();
  private readonly wordSlots: { slot: Slot; word: number }[] = [];
  /** Here-documents announced on the current line, read from the next newline on. */
  private heredocs: { delimiter: string; stripTabs: boolean }[] = [];
  /** Once set, the reader is unsure of the structure: later placeholders are refused. */
  private unsure: string | undefined;
  private readonly sticky: RegExp;
  private firstPlaceholder: { text: string; at: number } | undefined;

  constructor(
    private readonly text: string,
    pattern: RegExp,
  ) {
    this.sticky = new RegExp(pattern.source, 'y');
  }

  run(): Piece[] {
    const t = this.text;
    while (this.i < t.length) {
      const frame = this.stack.at(-1)!;
      const m = t[this.i] === '{' ? this.placeholderAt(this.i) : undefined;
      if (m) {
        this.placeholder(frame, m);
        continue;
      }
      this.step(frame);
    }
    const first = this.firstPlaceholder;
    if (this.stack.length > 1 && first) {
      const open = OPENER[this.stack.at(-1)!.kind];
      throw new TemplateProblem(
        first.text,
        `in a template whose ${open} is never closed`,
        first.at,
      );
    }
    this.flush(t.length);
    for (const { slot, word } of this.wordSlots)
      slot.plainWord = this.plainWords.get(word) ?? false;
    return this.pieces;
  }

  private placeholderAt(at: number): RegExpExecArray | undefined {
    this.sticky.lastIndex = at;
    return this.sticky.exec(this.text) ?? undefined;
  }

  private placeholder(frame: Frame, m: RegExpExecArray): void {
    const at = this.i;
    const end = at + m[0].length;
    const refuse = this.unsure ?? this.refusal();
    if (refuse) throw new TemplateProblem(m[0], refuse, at);
    this.flush(at);
    this.firstPlaceholder ??= { text: m[0], at };
    const context =
      frame.kind === 'single' ? 'single' : frame.kind === 'double' ? 'double' : 'bare';
    const slot: Slot = { key: m[1] ?? '', context, plainWord: false, wholeWord: false };
    if (context === 'bare') {
      const next = this.text[end];
      const last = next === undefined || BLANK.test(next) || OPERATOR.test(next);
      slot.wholeWord = frame.wordStart && last;
      if (frame.wordStart) this.startWord(frame);
      this.wordSlots.push({ slot, word: frame.word });
      frame.wordStart = false;
    }
    this.pieces.push(slot);
    this.i = end;
    this.literalFrom = end;
  }

  /**
   * The enclosing context that cannot carry a quoted value, if any. A `$(…)` starts a
   * fresh command, so `$(( $(cmd {}) ))` and `${x:-$(cmd {})}` are fine; backticks
   * rewrite backslashes in everything they enclose, so they refuse from any depth.
   */
  private refusal(): string | undefined {
    let inCommand = false;
    for (let k = this.stack.length - 1; k >= 0; k--) {
      const frame = this.stack[k]!;
      if (frame.refuse && (!inCommand || frame.kind === 'backtick')) return frame.refuse;
      if (frame.kind === 'top') inCommand = true;
    }
    return undefined;
  }

  private flush(to: number): void {
    if (to > this.literalFrom) this.pieces.push(this.text.slice(this.literalFrom, to));
    this.literalFrom = to;
  }

  private push(kind: Kind, skip: number): void {
    this.stack.push({
      kind,
      depth: 0,
      outer: false,
      refuse: REFUSE[kind],
      wordStart: true,
      word: 0,
    });
    this.i += skip;
  }

  private pop(skip: number): void {
    this.stack.pop();
    this.i += skip;
  }

  private step(frame: Frame): void {
    switch (frame.kind) {
      case 'top':
        return this.stepTop(frame);
      case 'single':
        return this.stepUntil("'", false);
      case 'ansi':
        return this.stepUntil("'", true);
      case 'backtick':
        return this.stepUntil('`', true);
      case 'double':
        return this.stepDouble();
      case 'param':
        return this.stepParam();
      case 'arith':
        return this.stepArith(frame);
    }
  }

  /** `'…'`, `$'…'` and backticks: scan to the closing character (with `\` escapes when asked). */
  private stepUntil(close: string, escapes: boolean): void {
    const c = this.text[this.i];
    if (escapes && c === '\\') this.i += 2;
    else if (c === close) this.pop(1);
    else this.i++;
  }

  private stepDouble(): void {
    const t = this.text;
    const c = t[this.i];
    if (c === '\\') {
      this.refuseAfterBackslash();
      this.i += 2;
    } else if (c === '"') this.pop(1);
    else if (c === '`') this.push('backtick', 1);
    else if (c === '$') this.dollar();
    else this.i++;
  }

  private stepParam(): void {
    const c = this.text[this.i];
    if (c === '}') return this.pop(1);
    this.nested(c);
  }

  private stepArith(frame: Frame): void {
    const t = this.text;
    const c = t[this.i];
    if (c === '(') frame.depth++;
    if (c === ')') {
      if (frame.depth === 0 && t[this.i + 1] === ')') return this.pop(2);
      frame.depth--;
    }
    this.nested(c);
  }

  /** Inside `${…}` and `$((…))`: quotes and expansions nest, and must be skipped whole. */
  private nested(c: string | undefined): void {
    if (c === '\\') this.i += 2;
    else if (c === "'") this.push('single', 1);
    else if (c === '"') this.push('double', 1);
    else if (c === '`') this.push('backtick', 1);
    else if (c === '$') this.dollar();
    else this.i++;
  }

  private stepTop(frame: Frame): void {
    const t = this.text;
    const c = t[this.i]!;
    if (BLANK.test(c) || OPERATOR.test(c)) {
      frame.wordStart = true;
      if (c === '\n' && this.heredocs.length) return this.heredocBodies();
      if (c === '<' && t[this.i + 1] === '<') return this.heredocStart();
      if (c === '(' && !frame.outer) frame.depth++;
      if (c === ')' && !frame.outer) {
        if (frame.depth === 0) return this.pop(1);
        frame.depth--;
      }
      this.i++;
      return;
    }
    if (frame.wordStart) {
      this.startWord(frame);
      if (c === '#') return this.comment();
      if (!frame.outer && /^case[ \t\n]/.test(t.slice(this.i, this.i + 5)))
        this.unsure ??= 'after a case statement inside $(…)';
    }
    frame.wordStart = false;
    if (!PLAIN_CHAR.test(c)) this.plainWords.set(frame.word, false);
    if (c === '\\') {
      this.refuseAfterBackslash();
      this.i += 2;
    } else if (c === "'") this.push('single', 1);
    else if (c === '"') this.push('double', 1);
    else if (c === '`') this.push('backtick', 1);
    else if (c === '$') this.dollar();
    else this.i++;
  }

  private startWord(frame: Frame): void {
    frame.word = ++this.words;
    this.plainWords.set(frame.word, true);
  }

  /** `$(`, `$((`, `${`, `$'`; a lone `$` is literal. */
  private dollar(): void {
    const t = this.text;
    const next = t[this.i + 1];
    const inDouble = this.stack.at(-1)!.kind === 'double';
    if (next === '(' && t[this.i + 2] === '(') this.push('arith', 3);
    else if (next === '(') this.push('top', 2);
    else if (next === '{') this.push('param', 2);
    else if (next === "'" && !inDouble) this.push('ansi', 2);
    else this.i++;
  }

  private refuseAfterBackslash(): void {
    const m = this.placeholderAt(this.i + 1);
    if (m) throw new TemplateProblem(m[0], 'right after a backslash', this.i + 1);
  }

  /** A comment runs to the end of the line; placeholders in it stay as written. */
  private comment(): void {
    const end = this.text.indexOf('\n', this.i);
    this.i = end === -1 ? this.text.length : end;
  }

  /** `<<WORD` or `<<-WORD` (not bash's `<<<`): the body starts at the next newline. */
  private heredocStart(): void {
    const t = this.text;
    if (t[this.i + 2] === '<') {
      this.i += 3;
      return;
    }
    const stripTabs = t[this.i + 2] === '-';
    let j = this.i + (stripTabs ? 3 : 2);
    while (t[j] === ' ' || t[j] === '\t') j++;
    let delimiter = '';
    let quote: string | undefined;
    for (; j < t.length; j++) {
      const c = t[j]!;
      const m = c === '{' ? this.placeholderAt(j) : undefined;
      if (m) throw new TemplateProblem(m[0], 'in a here-document delimiter', j);
      if (quote) {
        if (c === quote) quote = undefined;
        else delimiter += c;
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '\\') delimiter += t[++j] ?? '';
      else if (BLANK.test(c) || OPERATOR.test(c)) break;
      else delimiter += c;
    }
    this.heredocs.push({ delimiter, stripTabs });
    this.i = j;
  }

  /** Skips the bodies of pending here-documents; a placeholder in one is refused. */
  private heredocBodies(): void {
    const t = this.text;
    let at = this.i + 1;
    for (const { delimiter, stripTabs } of this.heredocs) {
      while (at < t.length) {
        const nl = t.indexOf('\n', at);
        const end = nl === -1 ? t.length : nl;
        const line = t.slice(at, end);
        const inner = new RegExp(this.sticky.source, 'g');
        const m = inner.exec(line);
        if (m) throw new TemplateProblem(m[0], 'inside a here-document', at + m.index);
        at = end + 1;
        if ((stripTabs ? line.replace(/^\t+/, '') : line) === delimiter) break;
      }
    }
    this.heredocs = [];
    this.i = Math.min(at, t.length);
  }
}
