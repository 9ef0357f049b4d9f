/**
 * The manifest's schema once more, for valid manifests only, without zod.
 *
 * zod is the manifest's one definition (`schema.ts`), but loading it costs some 225
 * modules and more start-up time than anything else on a run's path, and a run starts
 * from a valid manifest far more often than it reports a bad one. So a valid manifest
 * is read here, with plain checks that accept a subset of what the schema accepts and
 * give exactly its output; anything else (a wrong type, an unknown key, a bad
 * duration, even a value the schema might take) answers "not sure", and the loader goes
 * the careful way, through zod and yaml's positions, to accept it or report every issue.
 *
 * Why it cannot drift unnoticed: `test/manifest/quick-doc.test.ts` checks, on random
 * and hostile documents, that whatever this accepts the schema accepts with an equal
 * result, and that it accepts the valid ones; the loader's property test checks that
 * both ways give the same plan.
 */
import type { ManifestDoc } from './schema.js';
import { parseDuration, parsePercent, parseSize, parseTimeout } from './duration.js';
import { jobsFromMapping, namedInMapping } from './job-map.js';
import { isTemplate } from './placeholders.js';

/**
 * The manifest as the schema outputs it, or undefined when only the schema can tell.
 *
 * An `env` value or a `for_each` item read as a number or boolean reaches the job as
 * text, and the careful reader gives the text it was written with (`as-written.ts`);
 * from data this can only give `String(value)`, so it asks `asWritten` (once) whether
 * that is what was written. Without it, it reads data as the schema does.
 */
export function quickDoc(
  data: unknown,
  asWritten: () => boolean = () => true,
): ManifestDoc | undefined {
  let known: boolean | undefined;
  writtenSo = () => (known ??= asWritten());
  try {
    return manifest(data) as ManifestDoc;
  } catch (err) {
    if (err instanceof Unsure) return undefined;
    throw err;
  }
}

/** The `asWritten` of the `quickDoc` call under way. */
let writtenSo: () => boolean = () => true;

class Unsure extends Error {}

type Read = (value: unknown) => unknown;

function need(ok: boolean): asserts ok {
  if (!ok) throw new Unsure();
}

function isPlain(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

const text: Read = (v) => (need(typeof v === 'string' && v.length > 0), v);
const anyText: Read = (v) => (need(typeof v === 'string'), v);
const flag: Read = (v) => (need(typeof v === 'boolean'), v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const number: Read = (v) => (need(finite(v)), v);
const whole =
  (min: number): Read =>
  (v) => (need(typeof v === 'number' && Number.isSafeInteger(v) && v >= min), v);
const oneOf =
  (...values: unknown[]): Read =>
  (v) => (need(values.includes(v)), v);

/** A duration, timeout or size: the same parser the schema's transform calls. */
const parsed =
  (parse: (v: string | number) => unknown): Read =>
  (v) => {
    need(typeof v === 'string' || finite(v));
    try {
      return parse(v);
    } catch {
      throw new Unsure();
    }
  };

const list =
  (item: Read, min = 0): Read =>
  (v) => (need(Array.isArray(v) && v.length >= min), (v as unknown[]).map(item));

const record =
  (value: Read, key: (k: string) => boolean = () => true, min = 0): Read =>
  (v) => {
    need(isPlain(v));
    const entries = Object.entries(v);
    need(entries.length >= min);
    const out: Record<string, unknown> = {};
    for (const [k, x] of entries) {
      need(k !== '__proto__' && key(k));
      out[k] = value(x);
    }
    return out;
  };

/** A strict object: every key known, the required ones present; keys in the schema's order. */
const object =
  (shape: Record<string, Read>, required: string[] = []): Read =>
  (v) => {
    need(isPlain(v));
    for (const k of Object.keys(v)) need(Object.hasOwn(shape, k));
    for (const k of required) need(Object.hasOwn(v, k));
    const out: Record<string, unknown> = {};
    for (const [k, read] of Object.entries(shape)) if (Object.hasOwn(v, k)) out[k] = read(v[k]);
    return out;
  };

/** The first reader that is sure, as a union takes its first matching member. */
const either =
  (...reads: Read[]): Read =>
  (v) => {
    for (const read of reads) {
      try {
        return read(v);
      } catch (err) {
        if (!(err instanceof Unsure)) throw err;
      }
    }
    throw new Unsure();
  };

/** A number or boolean that reaches the job as text: only when its text is as written. */
const written =
  (read: Read): Read =>
  (v) => {
    const out = read(v);
    need(writtenSo());
    return out;
  };

const textOrNumber = either(anyText, written(number));
/** A setting written as a placeholder, which each item fills in (`item-settings.ts`). */
const template: Read = (v) => (need(typeof v === 'string' && isTemplate(v)), v);
const duration = parsed((v) => parseDuration(v, ''));

const shared: Record<string, Read> = {
  priority: either(whole(Number.MIN_SAFE_INTEGER), template),
  pool: text,
  timeout: either(
    template,
    parsed((v) => parseTimeout(v, '')),
  ),
  kill_grace: duration,
  retries: whole(0),
  lost_retries: whole(0),
  backoff: object({
    delay: duration,
    factor: (v) => (need(finite(v) && v >= 1), v),
    max: duration,
    jitter: flag,
  }),
  shell: text,
  cwd: text,
  env: (v) => {
    const env = record(either(anyText, written(number), written(flag)), (k) => /^[^=\0]+$/.test(k))(
      v,
    );
    return Object.fromEntries(Object.entries(env as object).map(([k, x]) => [k, String(x)]));
  },
  allow_failure: flag,
  capture: oneOf('stdout', 'json', 'lines'),
  capture_max: parsed((v) => parseSize(v, '')),
  cache: flag,
  inputs: list(text),
  outputs: list(text),
  cache_env: list((v) => (need(typeof v === 'string' && /^[^=\0]+$/.test(v)), v)),
};

const values = list(textOrNumber, 1);

const job = object(
  {
    name: text,
    run: text,
    for_each: either(
      text,
      values,
      object({ matrix: record(values, undefined, 1) }, ['matrix']),
      object({ csv: text }, ['csv']),
      object({ lines: text, null_separated: flag }, ['lines']),
      object({ from: text }, ['from']),
    ),
    batch: whole(1),
    needs: either((v) => [text(v)], list(text)),
    stdin: object({ from: text }, ['from']),
    ...shared,
  },
  ['name', 'run'],
);

const workers = either(whole(1), (v) => {
  const w = object({ min: whole(1), max: whole(1) }, ['min', 'max'])(v) as Record<string, number>;
  need(w.min! <= w.max!);
  return w;
});

const pool = (v: unknown) => {
  const p = object({ workers: whole(1), per_worker: whole(1) })(v) as Record<string, number>;
  need(p.workers !== undefined || p.per_worker !== undefined);
  return p;
};

const manifest = object(
  {
    $schema: anyText,
    version: oneOf(1),
    workers,
    order: oneOf('fifo', 'lifo'),
    defaults: object(shared),
    pools: record(pool),
    alerts: object({
      queue_depth: object({ above: whole(0), for: duration }, ['above']),
      failure_rate: object({ above: parsed((v) => parsePercent(v, '')), last: whole(1) }, [
        'above',
      ]),
      stalled: duration,
      run: text,
    }),
    on_end: text,
    jobs: (v) => {
      need(namedInMapping(v).length === 0);
      return list(job, 1)(jobsFromMapping(v));
    },
  },
  ['jobs'],
);
