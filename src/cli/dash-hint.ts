/**
 * "did you mean" for a command given without `--`: `jobrun run --glob '*.txt' wc -l {}`
 * fails in commander ("unknown option '-l'", "too many arguments"), which says nothing
 * of the fix. This finds where the command starts (the first word that is neither one
 * of `run`'s options nor its value) and shows the line with `--` put there.
 */
import fs from 'node:fs';
import type { Command, Option } from 'commander';

/**
 * The fixed command line, or undefined when `args` (what followed `jobrun run`, no `--`
 * among them) do not look like an ad-hoc command missing its `--`.
 */
export function missingDashHint(run: Command, args: readonly string[]): string | undefined {
  const separator = args.find((a) => a === ':::' || a === '::::');
  let sawInput = false;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '-' || !word.startsWith('-')) {
      // a manifest comes first, alone; with --glob/--stdin/::: the first word is the command
      if (separator === undefined && !sawInput) return undefined;
      // `jobrun run jobs.yaml ::: a b`: putting -- there would run the manifest as a command
      if (separator !== undefined && isManifest(word)) return manifestHint(word, separator);
      return `did you mean: jobrun run ${[...args.slice(0, i), '--', ...args.slice(i)].map(shown).join(' ')}`;
    }
    const option = findOption(run, word);
    if (option === undefined) return undefined; // a real unknown option
    if (option.long === '--glob' || option.long === '--stdin') sawInput = true;
    if ((option.required || option.optional) && !word.includes('=') && !attached(option, word)) i++;
  }
  return undefined;
}

/** A file that is there and named as a manifest is (`.yaml`, `.yml`, `.json`). */
function isManifest(word: string): boolean {
  return (
    /\.(ya?ml|json)$/i.test(word) && fs.statSync(word, { throwIfNoEntry: false })?.isFile() === true
  );
}

function manifestHint(manifest: string, separator: string): string {
  return (
    `${shown(manifest)} is a manifest, which brings its own commands: ${separator} input goes with a command after --\n` +
    `(e.g. jobrun run -- echo {} ${separator} …); for a job per item in a manifest, use for_each`
  );
}

function findOption(run: Command, word: string): Option | undefined {
  const flag = word.startsWith('--') ? word.split('=')[0]! : word.slice(0, 2);
  return (run.options as Option[]).find((o) => o.long === flag || o.short === flag);
}

/** `-j4`: a short option with its value in the same word. */
function attached(option: Option, word: string): boolean {
  return !word.startsWith('--') && option.short !== undefined && word.length > 2;
}

/** A word as a shell reads it back: bare when safe, else in single quotes. */
function shown(word: string): string {
  return /^[\w@%+=:,./{}#^-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
