/**
 * The quick way's YAML reader: js-yaml, with the numbers of YAML 1.2's core schema.
 *
 * The careful way reads with `yaml`, which follows YAML 1.2; js-yaml's own core schema
 * also takes YAML 1.1's numbers (`1_000`, `0b11`, `-0x10`), so `retries: 1_000` would
 * run when valid and be reported as a string when another error sent the manifest the
 * careful way. These types read null, booleans and numbers exactly as `yaml`'s core
 * schema does. Anchors, aliases and explicit tags go the careful way (`mayDiffer`).
 */
import { FAILSAFE_SCHEMA, load, Type } from 'js-yaml';

const nul = new Type('tag:yaml.org,2002:null', {
  kind: 'scalar',
  resolve: (s: string) => ['', '~', 'null', 'Null', 'NULL'].includes(s),
  construct: () => null,
});

const bool = new Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (s: string) => /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/.test(s),
  construct: (s: string) => s[0] === 't' || s[0] === 'T',
});

const INT = /^[-+]?[0-9]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const OCT = /^0o[0-7]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+)$/;
const SPECIAL = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;

const int = new Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (s: string) => INT.test(s) || HEX.test(s) || OCT.test(s),
  construct: (s: string) =>
    HEX.test(s)
      ? parseInt(s.slice(2), 16)
      : OCT.test(s)
        ? parseInt(s.slice(2), 8)
        : parseInt(s, 10),
});

const float = new Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (s: string) => FLOAT.test(s) || SPECIAL.test(s),
  construct: (s: string) => {
    if (!SPECIAL.test(s)) return parseFloat(s);
    if (s.slice(-3).toLowerCase() === 'nan') return Number.NaN;
    return s.startsWith('-') ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  },
});

const CORE_12 = FAILSAFE_SCHEMA.extend({ implicit: [nul, bool, int, float] });

/**
 * An anchor, alias or explicit tag where a node starts: at a line's start, or after
 * `- `, `? `, `:`, `[`, `{` or `,`. Aliases go the careful way because yaml caps how
 * far they expand (js-yaml shares the node, and walking it could take exponential
 * time); tags because js-yaml and yaml resolve a few differently. A match inside a
 * plain or quoted scalar only costs the careful way; `&&`, globs and `[ ! -e f ]` in a
 * command do not match.
 */
const NODE_PROPERTY = /(?:^[ \t]*|[?-][ \t]+|[[{,:][ \t]*)(?:[&*]|![^\s])/m;

/** Whether the quick reader might read `source` otherwise than `yaml` does. */
export function mayDiffer(source: string): boolean {
  return NODE_PROPERTY.test(source) || flowGoesOn(source);
}

/** A word that may be a plain number: after a space, a flow indicator or `:`, or first. */
const NUMBER_WORD = /(?:^|[\s[\]{},:])([-+]?\.?[0-9][\w.+-]*)/g;
/** An integer written as JavaScript writes it back. */
const PLAIN_INT = /^(?:0|-?[1-9][0-9]{0,14})$/;
const BOOL_WORD = /(?:^|[\s[\]{},:])(?:True|TRUE|False|FALSE)(?![\w.+-])/;

/**
 * Whether every plain scalar read as a number or boolean gives back its text as written:
 * not so for `1.10`, `0755`, `1e3`, `0x1F` or `True`, which `String()` makes `1.1`, `755`,
 * `1000`, `31` and `true`, where the careful reader keeps an `env` value's text. A plain
 * number is a whole word of these characters, so every one is found; a word in a command
 * or a quoted string (`sleep 0.50`) only costs the careful way.
 */
export function readsAsWritten(source: string): boolean {
  if (BOOL_WORD.test(source)) return false;
  for (const [, word = ''] of source.matchAll(NUMBER_WORD)) {
    if (PLAIN_INT.test(word)) continue; // most of them, and the cheapest to tell
    const isInt = int.resolve(word);
    if (!isInt && !float.resolve(word)) continue;
    if (String((isInt ? int : float).construct(word)) !== word) return false;
  }
  return true;
}

/**
 * In a block document, a line that leaves a flow collection (`{`, `[`) open: it goes on
 * below, where js-yaml takes lines that `yaml` refuses as not indented enough. A `{` of
 * a command's own (a shell function's) only costs the careful way. A document that is
 * one flow collection (JSON) has no block for its lines to be indented under.
 */
function flowGoesOn(source: string): boolean {
  if (/^\s*[{[]/.test(source)) return false;
  let open = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '{' || c === '[') open++;
    else if (c === '}' || c === ']') open--;
    else if (c === '\n') {
      if (open > 0) return true;
      open = 0;
    }
  }
  return false;
}

/** The document as YAML 1.2's core schema reads it; throws on any syntax error. */
export function quickYaml(source: string): unknown {
  return load(source, { schema: CORE_12, json: false });
}
