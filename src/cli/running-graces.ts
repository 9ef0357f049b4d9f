import { redactUrl } from '../backends/redis-url.js';
import { shellQuoteBytes } from '../manifest/quote.js';
import type { JobSpec } from '../model/job.js';

/** The most time a job gets between SIGTERM and SIGKILL (streamed jobs: the default). */
export function longestGrace(jobs: JobSpec[] | AsyncIterable<JobSpec>): number {
  return Array.isArray(jobs) ? jobs.reduce((most, j) => Math.max(most, j.killGraceMs), 0) : 5000;
}

/**
 * The command line that resumes this run: jobrun's own arguments as given (their bytes:
 * `rawArgs`), quoted for a shell, with `--resume` added before `--` (where flags end).
 * It is printed and kept in the report, so a Redis URL among jobrun's own flags shows as
 * `redactUrl` shows it, its password as `***` (jobrun warns against one there: see
 * `resolveRedisUrl`).
 */
export function resumeCommand(args: readonly string[]): string {
  const dash = args.indexOf('--');
  const flagsEnd = dash === -1 ? args.length : dash;
  const words = args.map((word, i) => (i < flagsEnd ? redactedRedisUrl(word) : word));
  if (!words.includes('--resume')) words.splice(flagsEnd, 0, '--resume');
  return ['jobrun', ...words.map(shellQuoteBytes)].join(' ');
}

/** A Redis URL, given alone or as `--flag=URL`, redacted; any other word as it is. */
function redactedRedisUrl(word: string): string {
  const url = /^(--[a-z-]+=)?(rediss?:\/\/.*)$/is.exec(word);
  return url ? (url[1] ?? '') + redactUrl(url[2]!) : word;
}
