/**
 * The few error classes the CLI knows how to explain. Anything else that reaches the
 * top is an internal bug and is shown with its stack and a request to report it.
 */

/** A problem the user can fix; the CLI prints the message (no stack) and exits 2. */
export class JobrunError extends Error {
  readonly exitCode: number = 2;
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags or arguments. */
export class UsageError extends JobrunError {
  constructor(message: string) {
    super(message, 'E_USAGE');
  }
}

/** One problem in a manifest, pointing at its source. Lines and columns are 1-based. */
export interface ManifestIssue {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Every problem found in a manifest, reported together. */
export class ManifestError extends JobrunError {
  constructor(readonly issues: ManifestIssue[]) {
    super(issues.map(formatIssue).join('\n'), 'E_MANIFEST');
  }
}

export function formatIssue(issue: ManifestIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

/** A control request a run refused or could not take (it ended meanwhile); exit 1. */
export class ControlError extends JobrunError {
  override readonly exitCode: number = 1;
  constructor(message: string) {
    super(message, 'E_CONTROL');
  }
}

/** Why the `what` (manifest, report) at `source` could not be read, in words. */
export function readProblem(source: string, err: unknown, what = 'manifest'): string {
  // '' is the current folder to path.resolve: say what was given instead
  if (source === '') return `no ${what} given: its path is empty ('')`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return `${what} not found: ${source}`;
  if (code === 'EISDIR') return `${what} ${source} is a directory, not a file`;
  if (code === 'EACCES') return `cannot read ${what} ${source}: permission denied`;
  return `cannot read ${what} ${source}: ${(err as Error).message}`;
}
