import { shellQuoteBytes } from '../manifest/quote.js';
import type { JobSpec } from '../model/job.js';

/** The most time a job gets between SIGTERM and SIGKILL (streamed jobs: the default). */
export function longestGrace(jobs: JobSpec[] | AsyncIterable<JobSpec>): number {
  return Array.isArray(jobs) ? jobs.reduce((most, j) => Math.max(most, j.killGraceMs), 0) : 5000;
}

/**
 * The command line that resumes this run: jobrun's own arguments as given (their bytes:
 * `rawArgs`), quoted for a shell, with `--resume` added before `--` (where flags end).
 * It is printed and kept in the report, so a Redis URL's password among jobrun's own
 * flags shows as `***` (jobrun warns against one there: see `resolveRedisUrl`).
 */
export function resumeCommand(args: readonly string[]): string {
  const dash = args.indexOf('--');
  const words = args.map((word, i) =>
    dash === -1 || i < dash ? word.replace(REDIS_PASSWORD, '$1***@') : word,
  );
  if (!words.includes('--resume')) {
    const dash = words.indexOf('--');
    words.splice(dash === -1 ? words.length : dash, 0, '--resume');
  }
  return ['jobrun', ...words.map(shellQuoteBytes)].join(' ');
}

/** The password of a Redis URL, given alone or as `--flag=URL`: what `$1` keeps is before it. */
const REDIS_PASSWORD = /^((?:--[a-z-]+=)?rediss?:\/\/[^/@:]*:)[^/@]+@/i;
