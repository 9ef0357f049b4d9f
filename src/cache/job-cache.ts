/**
 * The cache as the scheduler sees it (`CacheHook`): looks a job's key up before it
 * starts (restoring its outputs on a hit), says why it runs on a miss, and stores
 * its outputs and result after it succeeds.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CacheHit, CacheHook } from '../core/cache-hook.js';
import type { JobRecord } from '../model/events.js';
import type { JobCacheSpec, JobSpec } from '../model/job.js';
import { escapeGlob } from '../manifest/quote.js';
import { keyChanges } from './explain.js';
import { literalPath } from './globs.js';
import { FileHasher, fsPath, STATE_FOLDER } from './hasher.js';
import { filesOnly, recoverRawNames } from '../manifest/raw-names.js';
import { stdinLine } from '../core/results.js';
import { computeKey, keyOf, type Keyed } from './key.js';
import { isRestoreTemp, type CacheEntry, type CacheStore, type StoredOutput } from './store.js';

export interface JobCacheOptions {
  /** Told why each cached job runs (`--explain`). */
  explain?: (job: JobSpec, why: string[]) => void;
  /** Told what could not be cached, or looked up, and why. */
  warn: (message: string) => void;
  /** Where `cache_env` values are read (the runner's environment). */
  environ?: NodeJS.ProcessEnv;
  /** Hashes shared with other lookups of the same run (a Redis worker's, made per job). */
  hasher?: FileHasher;
  /** Keys of needs checked elsewhere (by the Redis worker that ran them), by name. */
  needKeys?: Record<string, string>;
}

/** What `jobrun explain` says of one job. */
export interface Explanation {
  name: string;
  /**
   * `hit`: it would be restored; `miss`: it would run, for `why`; `unknown`: a stage
   * whose jobs are known only once its source ran (`why` says which).
   */
  verdict: 'hit' | 'miss' | 'unknown';
  why: string[];
  /** Absent for `unknown`. */
  key?: string;
}

/** What a success leaves besides its outputs. */
type Done = Pick<JobRecord, 'result' | 'resultTruncated'>;

export class JobCache implements CacheHook {
  readonly hasher: FileHasher;
  private readonly keys = new WeakMap<JobSpec, Keyed>();
  /** The key each job of the run was checked (or resumed) with, by name: part of its dependants' keys. */
  private readonly keyByName = new Map<string, Promise<string>>();
  private readonly saving = new Set<Promise<void>>();
  /** `explain`: what the jobs it found restorable would restore, by name. */
  private readonly restorable = new Map<string, CacheHit>();
  /** Why the cache folder cannot be written (see `notStored`): no later success tries. */
  private unwritable: string | undefined;

  constructor(
    readonly store: CacheStore,
    private readonly options: JobCacheOptions,
  ) {
    this.hasher = options.hasher ?? new FileHasher();
  }

  /** The key `job` was last checked with, if it was. */
  keyOf(job: JobSpec): string | undefined {
    return this.keys.get(job)?.key;
  }

  async check(job: JobSpec): Promise<CacheHit | undefined> {
    try {
      if (!job.cache) return undefined;
      const keyed = await this.makeKey(job, job.cache);
      this.keys.set(job, keyed);
      const entry = await this.store.read(keyed.key);
      if (entry && staysInside(entry, job.cache) && (await this.store.restore(entry, job.cwd))) {
        this.store.touch(keyed.key);
        return hitOf(entry);
      }
      if (this.options.explain) this.options.explain(job, await this.why(job.name, keyed, entry));
      return undefined;
    } catch (err) {
      this.options.warn(`${job.name}: the cache could not be checked (${message(err)}); it runs`);
      return undefined;
    }
  }

  resumed(job: JobSpec): void {
    if (job.cache) this.makeKey(job, job.cache).catch(() => undefined);
  }

  private makeKey(job: JobSpec, cache: JobCacheSpec): Promise<Keyed> {
    const { environ } = this.options;
    const keyed = this.needKeys(job).then((needs) =>
      computeKey(job, cache, this.hasher, environ, needs),
    );
    // one that cannot be made (an input that cannot be read) is no key for its dependants
    this.keyByName.set(
      job.name,
      keyed.then(
        (k) => k.key,
        () => 'not cached',
      ),
    );
    return keyed;
  }

  private async needKeys(job: JobSpec): Promise<Record<string, string>> {
    const needs: Record<string, string> = {};
    for (const need of job.needs)
      needs[need] =
        (await this.keyByName.get(need)) ?? this.options.needKeys?.[need] ?? 'not cached';
    return needs;
  }

  /**
   * What a run would do with `job`, without restoring anything. `plan` gives its
   * needs, whose keys are part of its own (each computed once).
   */
  async explain(
    job: JobSpec,
    plan: Map<string, JobSpec>,
    stages: Map<string, string> = new Map(),
  ): Promise<Explanation> {
    for (const need of job.needs) {
      const spec = plan.get(need);
      if (spec?.cache && !this.keyByName.has(need)) await this.explain(spec, plan, stages);
    }
    const cache = job.cache ?? { inputs: [], outputs: [], env: [], root: job.cwd };
    const { name } = job;
    const { spec, unknown } = this.withStdin(job);
    let keyed = await this.makeKey(spec, cache);
    const assumed: string[] = [];
    // a stage's jobs are known once it expanded, a source's result once it ran: as stored?
    const later = job.needs.filter((need) => !plan.has(need));
    for (const stage of later) {
      // a stage whose source runs has jobs of new keys (each needs its source's)
      const source = await this.stageSource(stage, plan, stages);
      if (source && job.cache)
        return {
          name,
          verdict: 'miss',
          why: [`need ${stage}: its source ${source} runs`],
          key: keyed.key,
        };
    }
    const last = unknown.length + later.length > 0 ? await this.store.last(name) : undefined;
    if (last) {
      const parts = { ...keyed.parts };
      if (unknown.length > 0 && last.parts.stdin !== undefined) {
        parts.stdin = last.parts.stdin;
        const one = unknown.length === 1;
        assumed.push(`stdin: as stored, if ${unknown.join(', ')} print${one ? 's' : ''} the same`);
      }
      if (later.length > 0) {
        for (const need of later) delete parts[`need ${need}`];
        for (const [label, value] of Object.entries(last.parts))
          if (label.startsWith('need ') && !job.needs.includes(label.slice(5)))
            parts[label] = value;
        assumed.push(`need ${later.join(', ')}: as stored, if its jobs are the same`);
      }
      keyed = keyOf(parts);
      this.keyByName.set(name, Promise.resolve(keyed.key));
    }
    const entry = await this.store.read(keyed.key);
    if (!job.cache) return { name, verdict: 'miss', why: ['cache is off for it'], key: keyed.key };
    if (entry && entry.outputs.every((o) => fs.existsSync(this.store.blobPath(o.sha)))) {
      this.restorable.set(name, hitOf(entry));
      const why = [hitOf(entry).reason, ...assumed];
      return { name, verdict: 'hit', why, key: keyed.key };
    }
    return { name, verdict: 'miss', why: await this.why(name, keyed, entry), key: keyed.key };
  }

  /** `explain`: what `name` would be restored with, when `explain` found it would be. */
  wouldRestore(name: string): CacheHit | undefined {
    return this.restorable.get(name);
  }

  /**
   * `explain`: the job a stage's items come from (through the stages it reads), when it
   * is cached and would run rather than be restored; undefined otherwise.
   */
  private async stageSource(
    stage: string,
    plan: Map<string, JobSpec>,
    stages: Map<string, string>,
  ): Promise<string | undefined> {
    let source = stage;
    for (let hops = 0; stages.has(source) && hops <= stages.size; hops++)
      source = stages.get(source)!;
    const spec = plan.get(source);
    if (!spec?.cache) return undefined;
    if (!this.keyByName.has(source)) await this.explain(spec, plan, stages);
    return this.restorable.has(source) ? undefined : source;
  }

  /**
   * `explain`: a fan-in (`stdin: { from }`) with the stdin a run would give it, when
   * the results of its sources are known (each would be restored); else the sources
   * whose results are not (they run first, or are not cached).
   */
  private withStdin(job: JobSpec): { spec: JobSpec; unknown: string[] } {
    if (!job.stdinFrom) return { spec: job, unknown: [] };
    let stdin = '';
    const unknown: string[] = [];
    for (const source of job.stdinFrom) {
      const hit = this.restorable.get(source);
      if (hit) stdin += stdinLine(source, hit.result);
      else unknown.push(source);
    }
    return unknown.length > 0 ? { spec: job, unknown } : { spec: { ...job, stdin }, unknown };
  }

  private async why(name: string, keyed: Keyed, entry: CacheEntry | undefined): Promise<string[]> {
    if (entry) return ['its cache entry lost stored outputs (evicted or damaged)'];
    const last = await this.store.last(name);
    if (!last) return ['no earlier entry'];
    const changes = keyChanges(last.parts, keyed.parts);
    return changes.length > 0 ? changes : ['no entry with this key (evicted)'];
  }

  succeeded(job: JobSpec, record: Done): Promise<void> {
    if (this.unwritable !== undefined) return Promise.resolve();
    const saved = this.save(job, record)
      .catch((err: unknown) => this.notStored(job, err))
      .finally(() => this.saving.delete(saved));
    this.saving.add(saved);
    return saved;
  }

  /**
   * What differs between `job`'s key made now and `keyed`, the one it was checked with
   * (unchanged files are not read again: `FileHasher` knows them by identity).
   */
  private async changedSince(job: JobSpec, cache: JobCacheSpec, keyed: Keyed): Promise<string[]> {
    const needs = await this.needKeys(job);
    const now = await computeKey(job, cache, this.hasher, this.options.environ, needs);
    return now.key === keyed.key ? [] : keyChanges(keyed.parts, now.parts);
  }

  /**
   * A success could not be stored. A cache folder that cannot be written at all (a
   * read-only mount, no permission, a full disk) is said once, with what it means for the
   * rest of the run, rather than once per job: no later success tries again.
   */
  private notStored(job: JobSpec, err: unknown): void {
    const { code, path: where } = err as NodeJS.ErrnoException;
    // a full disk whatever the file; a refusal only of the cache's own (a job's output
    // it could not read is that job's)
    const inStore =
      typeof where === 'string' && !path.relative(this.store.dir, where).startsWith('..');
    const unwritable =
      code === 'ENOSPC' || code === 'EDQUOT' || (inStore && REFUSED.has(code ?? ''));
    if (!unwritable) {
      this.options.warn(`${job.name}: not cached: ${message(err)}`);
      return;
    }
    if (this.unwritable !== undefined) return; // a save under way at once failed first
    this.unwritable = message(err);
    this.options.warn(
      `${job.name}: not cached: ${this.unwritable}; no other job of this run is stored`,
    );
  }

  /** Resolves once every success of the run is stored (or given up on). */
  async settle(): Promise<void> {
    while (this.saving.size > 0) await Promise.all([...this.saving]);
  }

  private async save(job: JobSpec, record: Done): Promise<void> {
    const keyed = this.keys.get(job);
    if (!keyed || !job.cache) return;
    // an input changed while it ran (by hand, by a job it does not need): its outputs may
    // be made from the new contents, which the old key would restore for the old ones
    const changed = await this.changedSince(job, job.cache, keyed);
    if (changed.length > 0) {
      const why = changed.join('; ');
      this.options.warn(`${job.name}: not cached: its inputs changed while it ran (${why})`);
      return;
    }
    const { files, missing } = await matchOutputs(job.cache, job.cwd);
    if (missing.length > 0) {
      const list = missing.join(', ');
      this.options.warn(`${job.name}: not cached: output ${list} was never produced`);
      return;
    }
    const outputs: StoredOutput[] = [];
    for (const rel of files)
      outputs.push(await this.store.saveBlob(path.resolve(job.cwd, rel), rel));
    await this.store.write({
      version: 1,
      name: job.name,
      ...keyed,
      outputs,
      ...(record.result === undefined ? {} : { result: record.result }),
      ...(record.resultTruncated ? { resultTruncated: true } : {}),
      savedAt: Date.now(),
    });
  }
}

/**
 * A shared cache is written by other runs and machines: an entry may only restore
 * files below the job's folder, unless its own `outputs` reach out of it (`../dist`),
 * and none into jobrun's own `.jobrun` (an older release stored them), unless they name it.
 */
function staysInside(entry: CacheEntry, cache: JobCacheSpec): boolean {
  const segments = (p: string) => p.split(/[\\/]/);
  const up = (p: string) => path.isAbsolute(p) || segments(p).includes('..');
  const own = (p: string) => segments(p).includes(STATE_FOLDER);
  return [up, own].every(
    (outside) => cache.outputs.some(outside) || !entry.outputs.some((o) => outside(o.path)),
  );
}

function hitOf(entry: CacheEntry): CacheHit {
  const hit: CacheHit = { reason: `unchanged since ${new Date(entry.savedAt).toISOString()}` };
  if (entry.result !== undefined) hit.result = entry.result;
  if (entry.resultTruncated) hit.resultTruncated = true;
  return hit;
}

/**
 * The files `outputs` name under `cwd`: a plain path (escaped glob characters are
 * part of a name, see `literalPath`) must be a file (or a folder, for all it holds), a
 * glob must match at least one file; those that do not are `missing`.
 */
async function matchOutputs(
  cache: JobCacheSpec,
  cwd: string,
): Promise<{ files: string[]; missing: string[] }> {
  const { default: fg } = await import('fast-glob');
  const files = new Set<string>();
  const missing: string[] = [];
  for (const glob of cache.outputs) {
    let pattern = glob;
    const plain = literalPath(glob, fg.isDynamicPattern);
    if (plain !== undefined) {
      const stat = await fs.promises.stat(fsPath(path.resolve(cwd, plain))).catch(() => undefined);
      if (stat?.isFile()) {
        files.add(path.normalize(plain));
        continue;
      }
      if (!stat?.isDirectory()) {
        missing.push(plain);
        continue;
      }
      pattern = `${escapeGlob(plain)}/**`;
    }
    // links to folders are not gone into: they may loop (pnpm links packages both ways),
    // and a glob that follows loops grows without end; a link to a file is its content
    const found = await fg(pattern, {
      cwd,
      dot: true,
      onlyFiles: false,
      followSymbolicLinks: false,
      // jobrun's own logs, journal and cache are no job's output
      ignore: [`**/${STATE_FOLDER}/**`],
    });
    // a restore cut short by kill -9 is no output, though it sits among them
    const made = filesOnly(recoverRawNames(found, cwd), cwd).filter(
      (f) => !isRestoreTemp(path.basename(f)),
    );
    if (made.length === 0) missing.push(glob);
    for (const f of made) files.add(path.normalize(f));
  }
  return { files: [...files].sort(), missing };
}

/** Errors that, on a file of the cache's own, say its folder takes nothing this run. */
const REFUSED = new Set(['EROFS', 'EACCES', 'EPERM']);

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
