import { writeFileSync } from 'node:fs';

/**
 * The file a job's standard input is opened from: `/dev/null`, or for a job with
 * `stdin: { from }` its sources' results, written beside the attempt's log as
 * `<log without .log>.stdin`. A file, not a pipe: the job reads it at its own pace and
 * jobrun keeps nothing fed. Throws when the file cannot be written (a full disk).
 */
export function stdinPathFor(logPath: string, input: string | undefined): string {
  if (input === undefined) return '/dev/null';
  const file = `${logPath.replace(/\.log$/, '')}.stdin`;
  writeFileSync(file, input);
  return file;
}
