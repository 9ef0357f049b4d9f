import type { JobSpec } from './job.js';

/**
 * Why a job cannot be started as given: a NUL byte in its command, an argument, a
 * variable or its folder. The OS takes each of those as a C string, which ends at the
 * first NUL, so no executor can pass it on: the item that brought it is named instead.
 */
export function nulByteProblem(
  job: Pick<JobSpec, 'name' | 'command' | 'argv' | 'env' | 'cwd' | 'items'>,
): string | undefined {
  const item = job.items?.find(hasNul) ?? (hasNul(job.name) ? job.name : undefined);
  const where =
    item !== undefined
      ? `item ${shown(item)}`
      : hasNul(job.command) || job.argv?.some(hasNul)
        ? `command ${shown(job.command)}`
        : Object.entries(job.env).some(([k, v]) => hasNul(k) || hasNul(v))
          ? `env: ${Object.keys(job.env).find((k) => hasNul(k) || hasNul(job.env[k] ?? ''))}`
          : hasNul(job.cwd)
            ? `folder ${shown(job.cwd)}`
            : undefined;
  return where === undefined
    ? undefined
    : `${where} holds a NUL byte (\\0), which no command, argument or variable can carry`;
}

function hasNul(text: string): boolean {
  return text.includes('\0');
}

/** Quoted, with each NUL written `\0` and the rest cut short. */
function shown(text: string): string {
  const cut = text.length > 60 ? `${text.slice(0, 60)}…` : text;
  return `"${cut.replaceAll('\0', '\\0')}"`;
}
