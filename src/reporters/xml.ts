import { stripVTControlCharacters } from 'node:util';

/**
 * Making arbitrary job output safe for XML 1.0. Job output holds anything: colour
 * codes, NUL and other control bytes, invalid UTF-8 (already decoded to U+FFFD by
 * the tail reader), lone UTF-16 surrogates, `<`, `&` and `]]>`.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** Everything outside XML 1.0's Char production (tab, LF and CR are allowed). */
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g;

/**
 * The text as XML 1.0 can carry it: terminal escape sequences (Node's
 * `stripVTControlCharacters`) and characters XML forbids are removed, lone surrogates become U+FFFD.
 */
export function xmlSafe(text: string): string {
  return stripVTControlCharacters(text).replace(LONE_SURROGATE, '\uFFFD').replace(NOT_XML_CHAR, '');
}

/** Character data: `&`, `<` and `>` escaped (so `]]>` can never appear either). */
export function xmlText(text: string): string {
  return xmlSafe(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An attribute value (double-quoted): also quotes, and line breaks as references so they survive. */
export function xmlAttr(text: string): string {
  return xmlText(text)
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\t/g, '&#9;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;');
}
