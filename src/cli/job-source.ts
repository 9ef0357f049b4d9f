import path from 'node:path';
import { UsageError } from '../errors.js';
import type { JobSpec, RunSettings, TimeoutSpec } from '../model/job.js';
import type { CaptureSpec } from '../model/result.js';
import { adHocJob, commandTemplate, globItems } from '../manifest/adhoc.js';
import { shellProblem } from '../manifest/places.js';
import { readLineBatches } from './stdin-lines.js';

/** Where a run's jobs come from, with what the run needs to know about them. */
export interface JobSource {
  settings: RunSettings;
  /** An array for manifests and globs; a lazy stream for `--stdin`. */
  jobs: JobSpec[] | AsyncIterable<JobSpec>;
  /** Names the run for its journal: the same identity resumes the same journal. */
  identity: string;
}

export interface SourceFlags {
  glob?: string;
  stdin?: boolean;
  shell?: string;
}

/** Settings from flags that win over the manifest for every job. */
export interface JobOverrides {
  timeout?: TimeoutSpec;
  retries?: number;
  /** `--capture`: every job keeps its stdout as its result. */
  capture?: CaptureSpec;
}

export async function openSource(
  manifest: string | undefined,
  command: string[],
  flags: SourceFlags,
): Promise<JobSource> {
  const modes = [manifest !== undefined, flags.glob !== undefined, Boolean(flags.stdin)].filter(
    Boolean,
  );
  if (modes.length === 0) {
    throw new UsageError(
      'nothing to run: give a manifest (jobrun run jobs.yaml), or --glob/--stdin with a command after --',
    );
  }
  if (modes.length > 1) throw new UsageError('give one of: a manifest, --glob or --stdin');
  const cwd = process.cwd();
  if (flags.shell !== undefined) {
    if (manifest !== undefined)
      throw new UsageError(
        '--shell is for --glob/--stdin commands; a manifest sets shell: in defaults',
      );
    const problem = shellProblem(flags.shell);
    if (problem !== undefined) throw new UsageError(`--shell ${flags.shell}: ${problem}`);
  }
  if (manifest !== undefined) {
    if (command.length > 0) {
      throw new UsageError(`a manifest brings its own commands; drop "-- ${command.join(' ')}"`);
    }
    const { loadManifest } = await import('../manifest/load.js'); // zod and yaml: only for manifests
    const plan = await loadManifest(manifest);
    const identity = manifest === '-' ? `stdin-manifest:${cwd}` : path.resolve(manifest);
    return { settings: plan, jobs: plan.jobs, identity };
  }
  if (command.length === 0)
    throw new UsageError('--glob and --stdin need a command after --, e.g. -- gzip -9 {}');
  const template = commandTemplate(command);
  const base = { cwd, shell: flags.shell ?? '/bin/sh' };
  const settings: RunSettings = { manifestPath: null, pools: {}, order: 'fifo' };
  if (flags.glob !== undefined) {
    const items = await globItems(flags.glob, cwd);
    const jobs = items.map((item, index) => adHocJob(item, index, template(item, index + 1), base));
    return { settings, jobs, identity: `glob:${cwd}:${flags.glob}:${command.join('\0')}` };
  }
  async function* fromStdin(): AsyncGenerator<JobSpec> {
    let index = 0;
    for await (const lines of readLineBatches(process.stdin)) {
      for (const line of lines) {
        yield adHocJob(line, index, template(line, index + 1), base);
        index++;
      }
    }
  }
  return { settings, jobs: fromStdin(), identity: `stdin:${cwd}:${command.join('\0')}` };
}

/** True when the flags change nothing, so the jobs need no extra pass (or generator layer). */
export function noOverrides(overrides: JobOverrides): boolean {
  const { timeout, retries, capture } = overrides;
  return timeout === undefined && retries === undefined && capture === undefined;
}

export function applyOverrides(job: JobSpec, overrides: JobOverrides): JobSpec {
  const { timeout, retries, capture } = overrides;
  if (noOverrides(overrides)) return job;
  return {
    ...job,
    timeout: timeout ?? job.timeout,
    retries: retries ?? job.retries,
    capture: capture ?? job.capture,
  };
}

export function mapJobs(
  jobs: JobSpec[] | AsyncIterable<JobSpec>,
  fn: (job: JobSpec) => JobSpec,
): JobSpec[] | AsyncIterable<JobSpec> {
  if (Array.isArray(jobs)) return jobs.map(fn);
  return (async function* () {
    for await (const job of jobs) yield fn(job);
  })();
}

/** `--only 'thumb-*'`: the matching jobs plus every job they need, transitively. */
export function selectJobs(jobs: JobSpec[], patterns: string[]): Set<string> {
  const regexes = patterns.map(nameGlob);
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const selected = new Set<string>();
  const visit = (job: JobSpec) => {
    if (selected.has(job.name)) return;
    selected.add(job.name);
    for (const need of job.needs) {
      const dep = byName.get(need);
      if (dep) visit(dep);
    }
  };
  for (const job of jobs) if (regexes.some((re) => re.test(job.name))) visit(job);
  if (selected.size === 0) {
    throw new UsageError(`--only ${patterns.join(',')} matches no job name`);
  }
  return selected;
}

/** A name pattern: `*` matches any run of characters, `?` one character. */
function nameGlob(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}
