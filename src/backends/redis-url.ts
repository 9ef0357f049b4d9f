import type { RedisOptions } from 'ioredis';
import { UsageError } from '../errors.js';

/** A parsed `redis://` or `rediss://` URL, kept with the secret it must never print. */
export interface RedisTarget {
  /** The URL with any password replaced by `***`: the only form ever printed. */
  safe: string;
  options: RedisOptions;
  /** Strings to scrub from any message that might echo them (the password). */
  secrets: string[];
}

/**
 * `redis://user:pass@host:6379/2` → `redis://user:***@host:6379/2`. Also used on
 * strings that merely look like URLs; a string that does not parse is redacted
 * wholesale after its scheme rather than risk printing a secret.
 */
export function redactUrl(text: string): string {
  return redactQuery(redactUserInfo(text));
}

/**
 * Every value after `?` or `#` (`?password=…`, `?auth=…`, a token in a fragment): a URL's
 * parameters are not worth printing at the risk of one being a secret.
 */
function redactQuery(text: string): string {
  const hash = text.indexOf('#');
  const head = hash === -1 ? text : `${text.slice(0, hash)}#***`;
  const q = head.indexOf('?');
  if (q === -1) return head;
  return head.slice(0, q) + head.slice(q).replace(/([?&;][^=&;#]*=)[^&;#]*/g, '$1***');
}

function redactUserInfo(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url?.host) {
    if (url.password) url.password = '***';
    return url.toString().replace(/\/$/, '');
  }
  // no URL with a host (`redis//:pw@host`, `redis:/:pw@host`, `ho st`): whatever stands
  // before the last @ may be a password
  const at = text.lastIndexOf('@');
  if (at === -1) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/{0,2}/i.exec(text)?.[0] ?? '';
  return `${scheme}***${text.slice(at)}`;
}

/** Removes every occurrence of the secrets (raw and URL-encoded) from a message. */
export function scrub(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) {
    if (!secret) continue;
    for (const form of new Set([secret, encodeURIComponent(secret)]))
      out = out.split(form).join('***');
  }
  return out;
}

/**
 * Parses `redis://[user:pass@]host[:port][/db]` or `rediss://…` (TLS) into ioredis
 * options. Bad URLs are usage errors whose message shows the redacted URL only.
 */
export function parseRedisUrl(text: string): RedisTarget {
  const safe = redactUrl(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`"${safe}" is not a Redis URL: use redis://[user:pass@]host:port[/db]`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UsageError(
      `"${safe}" is not a Redis URL: it must start with redis:// (or rediss:// for TLS)`,
    );
  }
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!/^\d*$/.test(dbText) || !Number.isSafeInteger(db)) {
    throw new UsageError(`"${safe}": the database after the port must be a number, e.g. /0`);
  }
  // `?password=` (as ioredis and other clients accept) counts as the URL's password
  const query = url.searchParams.get('password') ?? undefined;
  const password = url.password ? decodeURIComponent(url.password) : query || undefined;
  const options: RedisOptions = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: url.port ? Number(url.port) : 6379,
    db,
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password,
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  const secrets = [password, query].filter((s): s is string => Boolean(s));
  return { safe, options, secrets };
}
