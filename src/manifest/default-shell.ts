/**
 * The shell a job runs in when neither it nor the run names one: `bash` when it is
 * installed, else `/bin/sh` (GitHub Actions' rule). People type bash-isms (`[[ ]]`,
 * `{1..3}`, `$RANDOM`) and expect them to work, as they do under GNU parallel, which
 * uses the user's shell.
 */
import { shellProblem } from './places.js';

let found: string | undefined;

/** `bash` when it is on PATH, else `/bin/sh`; looked up once per process. */
export function defaultShell(): string {
  found ??= shellProblem('bash') === undefined ? 'bash' : '/bin/sh';
  return found;
}
