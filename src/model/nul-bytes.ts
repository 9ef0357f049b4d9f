import type { JobSpec } from './job.js';

/**
 * Why a job cannot be started as given: a NUL byte in its command, an argument, a
 * variable or its folder. The OS takes each of those as a C string, which ends at the
 * first NUL, so no executor can pass it on: the item that brought it is named instead.
 */
export function nulByteProblem(job: NulChecked): string | undefined {
  const where = nulPlace(job);
  return where === undefined
    ? undefined
    : `${where} holds a NUL byte (\\0), which no command, argument or variable can carry`;
}

type NulChecked = Pick<JobSpec, 'name' | 'command' | 'argv' | 'env' | 'cwd' | 'items'>;

/** The first place of `job` that holds a NUL, as the message names it. */
function nulPlace(job: NulChecked): string | undefined {
  const item = job.items?.find(hasNul) ?? (hasNul(job.name) ? job.name : undefined);
  if (item !== undefined) return `item ${shown(item)}`;
  if (hasNul(job.command) || job.argv?.some(hasNul)) return `command ${shown(job.command)}`;
  // one pass over the names, no [name, value] pair each: every attempt's start asks
  const variable = Object.keys(job.env).find((k) => hasNul(k) || hasNul(job.env[k]!));
  if (variable !== undefined) return `env: ${variable}`;
  return hasNul(job.cwd) ? `folder ${shown(job.cwd)}` : undefined;
}

function hasNul(text: string): boolean {
  return text.includes('\0');
}

/** Quoted, with each NUL written `\0` and the rest cut short. */
function shown(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `"${cut.replaceAll('\0', '\\0')}"`;
}
