/**
 * The shell's own syntax check (`sh -n`) over command templates, so a template the
 * shell cannot parse is an error at `validate` and before anything runs, not a failure
 * of every job it expands to.
 *
 * Templates are checked in batches: one shell process reads all of a shell's templates,
 * each in its own subshell `( … )` so one cannot complete another (a trailing `&&`, a
 * `\`). `-n` parses and executes nothing. Only when a batch fails is it split in halves
 * to find the bad templates, so k bad templates among n cost about k·log2(n) processes
 * and a valid manifest costs one per shell.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Shells known to take `-n` as "read commands, run nothing". */
const CHECKABLE = new Set(['sh', 'bash', 'dash', 'ash', 'ksh', 'mksh', 'zsh', 'busybox']);

/** How long one check may take before it is given up (the job then shows the error). */
const CHECK_TIMEOUT_MS = 10_000;

/** A template the shell rejected, with the shell's message and the line within the template. */
export interface SyntaxProblem {
  /** The 1-based line within the template that the shell blames. */
  line: number;
  /** The shell's message, without its own file and line prefix. */
  message: string;
}

/** Whether `shell` is one whose `-n` this module knows (sh, bash, dash, zsh, …). */
function checkable(shell: string): boolean {
  return CHECKABLE.has(path.basename(shell));
}

/**
 * Checks `templates` with `shell -n`; returns the problem of each template the shell
 * rejects, by index. Shells it does not know, and a shell that cannot be run or takes
 * too long, give no problems: the check only ever adds an early error.
 */
export function checkSyntax(
  shell: string,
  templates: readonly string[],
): Map<number, SyntaxProblem> {
  const problems = new Map<number, SyntaxProblem>();
  if (!checkable(shell)) return problems;
  const seen = checked.get(shell) ?? new Map<string, SyntaxProblem | null>();
  checked.set(shell, seen);
  const unique = [...new Set(templates)].filter((t) => !seen.has(t) && !plainlyParses(t));
  const found = new Map<string, SyntaxProblem>();
  findBad(shell, unique, found);
  if (seen.size + unique.length > MAX_REMEMBERED) seen.clear();
  for (const t of unique) seen.set(t, found.get(t) ?? null);
  templates.forEach((t, i) => {
    const problem = found.get(t) ?? seen.get(t);
    if (problem) problems.set(i, problem);
  });
  return problems;
}

/**
 * Words the shell reads as syntax when they stand alone (bash's reserved words and the
 * brackets of `[[ … ]]`): a template of plain words among them may still not parse.
 */
const RESERVED = new Set(
  '! { } [[ ]] case coproc do done elif else esac fi for function if in select then time until while'.split(
    ' ',
  ),
);

/** A word with no quote, operator, expansion or redirection in it (`{}` and `{.}` are words). */
const PLAIN_WORD = /^[\w./:,@%+=#{}~^-]+$/;

/**
 * A one-line template of plain words, none of them reserved (`gzip -9 {}`, `true`),
 * parses in any shell: checking it would cost a process for nothing, on every ad-hoc run.
 */
function plainlyParses(template: string): boolean {
  return template
    .split(/[ \t]+/)
    .every((word) => word === '' || (PLAIN_WORD.test(word) && !RESERVED.has(word)));
}

/**
 * Answers already known in this process, by shell: a template's syntax does not change,
 * and a manifest is parsed twice when its quick reading was not sure. Bounded.
 */
const checked = new Map<string, Map<string, SyntaxProblem | null>>();
const MAX_REMEMBERED = 10_000;

/** Bisects `batch` down to the templates the shell rejects on their own. */
function findBad(shell: string, batch: string[], found: Map<string, SyntaxProblem>): void {
  if (batch.length === 0) return;
  const result = parse(shell, batch);
  if (result === undefined) return;
  if (batch.length === 1) {
    found.set(batch[0]!, problemIn(result, batch[0]!));
    return;
  }
  const half = Math.ceil(batch.length / 2);
  findBad(shell, batch.slice(0, half), found);
  findBad(shell, batch.slice(half), found);
}

/** Lines the wrapper puts before a template: `(` and `:` (so a comment-only one parses). */
const LEAD = 2;

/** The shell's complaint about `batch`, or undefined when it parses (or cannot be checked). */
function parse(shell: string, batch: string[]): string | undefined {
  // a file, not stdin: bash names the line only when it reads a file
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-check-'));
  const file = path.join(dir, 'run');
  try {
    fs.writeFileSync(file, batch.map((t) => `(\n:\n${t}\n)\n`).join(''));
    const run = spawnSync(shell, ['-n', file], {
      encoding: 'utf8',
      timeout: CHECK_TIMEOUT_MS,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    if (run.error || run.status === null || run.status === 0) return undefined;
    const first = run.stderr.split('\n').find((l) => l.trim() !== '') ?? `${shell} -n failed`;
    return first.split(`${file}: `).join('');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `line 7: syntax error…` (bash) or `7: Syntax error…` (dash), the file's name taken out. */
function problemIn(complaint: string, template: string): SyntaxProblem {
  const m = /^(?:line )?(\d+): (.*)$/.exec(complaint);
  const lines = template.replace(/\n+$/, '').split('\n').length;
  const at = m ? Number(m[1]) - LEAD : lines;
  // blamed on the wrapper's closing `)` or the end of the file: something is left open
  const open = at > lines || /end of file|EOF/i.test(complaint);
  return {
    line: Math.min(Math.max(at, 1), lines),
    message: open
      ? 'the command ends while something is still open (a quote, a bracket, if…fi, do…done, case…esac)'
      : (m ? m[2]! : complaint).replace(' (expecting ")")', ''),
  };
}
