/**
 * "did you mean" for a command given without `--`: `jobrun run --glob '*.txt' wc -l {}`
 * fails in commander ("unknown option '-l'", "too many arguments"), which says nothing
 * of the fix. This finds where the command starts (the first word that is neither one
 * of `run`'s options nor its value) and shows the line with `--` put there.
 */
import type { Command, Option } from 'commander';

/**
 * The fixed command line, or undefined when `args` (what followed `jobrun run`, no `--`
 * among them) do not look like an ad-hoc command missing its `--`.
 */
export function missingDashHint(run: Command, args: readonly string[]): string | undefined {
  const adHoc = args.some((a) => a === ':::' || a === '::::');
  let sawInput = false;
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    if (word === '-' || !word.startsWith('-')) {
      // a manifest comes first, alone; with --glob/--stdin/::: the first word is the command
      if (!adHoc && !sawInput) return undefined;
      return `did you mean: jobrun run ${[...args.slice(0, i), '--', ...args.slice(i)].map(shown).join(' ')}`;
    }
    const option = findOption(run, word);
    if (option === undefined) return undefined; // a real unknown option
    if (option.long === '--glob' || option.long === '--stdin') sawInput = true;
    if ((option.required || option.optional) && !word.includes('=') && !attached(option, word)) i++;
  }
  return undefined;
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
