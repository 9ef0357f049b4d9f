import fs from 'node:fs';
import { UsageError } from '../errors.js';
import { scrubEnvironBlock } from './scrub-environ.js';

/** The environment variable that carries a Redis URL (and its password) out of argv. */
const REDIS_URL_ENV = 'JOBRUN_REDIS_URL';

let fromEnv: string | undefined;
let taken = false;

/**
 * Reads `JOBRUN_REDIS_URL` once and removes it from this process's environment, so no
 * job (whose environment is a copy of ours) can read the password, nor any child
 * process started later, nor a job reading `/proc/<our pid>/environ`. Call it before
 * anything is spawned; later calls return the value read the first time.
 */
export function takeRedisUrlFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!taken) {
    taken = true;
    const value = env[REDIS_URL_ENV]?.trim();
    fromEnv = value ? value : undefined;
    if (env === process.env && env[REDIS_URL_ENV] !== undefined) scrubEnvironBlock(REDIS_URL_ENV);
    delete env[REDIS_URL_ENV];
  }
  return fromEnv;
}

/**
 * The Redis URL to use, from (in this order) the command line, `--redis-url-file`, or
 * `JOBRUN_REDIS_URL`. A password given on the command line is visible to every user of
 * the machine (`ps`, `/proc/*\/cmdline`) and to every job (`/proc/$PPID/cmdline`), so
 * it draws a warning naming the two safe ways.
 */
export function resolveRedisUrl(
  given: string | undefined,
  file: string | undefined,
  warn: (line: string) => void,
  what: string,
): string {
  const env = takeRedisUrlFromEnv();
  if (given !== undefined && file !== undefined)
    throw new UsageError(`give the Redis URL either in ${what} or with --redis-url-file, not both`);
  if (given !== undefined) {
    if (hasPassword(given))
      warn(
        `warning: the Redis password on the command line is visible to every user and job on this machine (ps); pass the URL in ${REDIS_URL_ENV} or --redis-url-file instead`,
      );
    return given;
  }
  if (file !== undefined)
    return urlOnly(readUrlFile(file), `--redis-url-file ${file}: its first line`);
  if (env !== undefined) return urlOnly(env, REDIS_URL_ENV);
  throw new UsageError(
    `no Redis URL: give ${what}, --redis-url-file <file>, or set ${REDIS_URL_ENV}`,
  );
}

/** How much of a URL file is read: a URL is one line, and the file may be endless. */
const URL_FILE_HEAD = 64 * 1024;

/**
 * The first non-empty line of the file; its content is never echoed in errors. Only
 * its head is read, up to the first non-empty line: `/dev/zero` does not fill memory,
 * and a pipe (`<(pass show redis)`, `/dev/stdin`) need not be closed after the URL.
 */
function readUrlFile(file: string): string {
  let text: string;
  try {
    text = readHead(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new UsageError(`--redis-url-file ${file}: cannot read it (${code})`);
  }
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean);
  if (!line) throw new UsageError(`--redis-url-file ${file}: the file is empty`);
  return line;
}

function readHead(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(URL_FILE_HEAD);
    let size = 0;
    while (size < buf.length) {
      const n = fs.readSync(fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
      if (/\S[^\n]*\n/.test(buf.toString('utf8', 0, size))) break; // a whole line
    }
    return buf.toString('utf8', 0, size);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A URL from a secret's place (the file, the environment) that does not even start like
 * one (a bare password, the wrong file) is refused without showing it: the URL's own
 * checks would echo it. One that does is shown redacted by them.
 */
function urlOnly(text: string, what: string): string {
  if (/^rediss?:\/\//i.test(text)) return text;
  throw new UsageError(
    `${what} is not a Redis URL (it must start with redis:// or rediss://; not shown, as it may hold a password)`,
  );
}

function hasPassword(text: string): boolean {
  try {
    return new URL(text).password !== '';
  } catch {
    return /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(text);
  }
}
