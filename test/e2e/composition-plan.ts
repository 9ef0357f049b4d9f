import fc from 'fast-check';

/**
 * A random pipeline for the end-to-end property test, its manifest, and what a run of
 * it to its end must report. Every job runs `job.sh`, which leaves markers in
 * `ran/<run>/` (`<name>.<attempt>.start|end`), so the test knows what truly ran.
 */

/** One node of the pipeline: a job, or a stage fed by an earlier node. */
export interface Node {
  stage: boolean;
  /** For a stage: which earlier node feeds it (modulo its index). */
  from: number;
  /** Earlier nodes it needs (modulo its index). */
  needs: number[];
  retries: number;
  /** The first `failFirst` attempts of each of its jobs fail. */
  failFirst: number;
  allowFailure: boolean;
  pool: '' | 'a' | 'b';
  priority: number;
  ms: number;
  /** How many items each of its jobs prints (its result, for the stages it feeds). */
  items: number;
  /** Leaves a background `sleep` behind, which jobrun must kill with the job. */
  leaveChild: boolean;
  /** Its failing attempts hang instead of exiting 1, until its `timeout` (HANG_TIMEOUT_MS). */
  hang: boolean;
}

/** How the run ends. `afterStarts`: the stop comes once that many attempts started. */
export type Ending =
  | { kind: 'normal' }
  | { kind: 'fail-fast' }
  | { kind: 'halt'; policy: string }
  | {
      kind: 'signal';
      signal: 'SIGINT' | 'SIGTERM';
      afterStarts: number;
      delayMs: number;
      /** `--graceful`: and whether a second signal follows. */
      graceful?: { twice: boolean; gapMs: number };
    }
  | { kind: 'kill9'; afterStarts: number; delayMs: number }
  /** `jobrun drain`, or `jobrun cancel` of the job that started last, from outside. */
  | { kind: 'drain' | 'cancel'; afterStarts: number; delayMs: number }
  /**
   * Steered from outside, and then on to its end: `jobrun pause` (the run, or pool b)
   * or `jobrun scale --pool b=0`, undone `holdMs` later.
   */
  | {
      kind: 'steer';
      action: 'pause' | 'pause-b' | 'scale-b';
      afterStarts: number;
      delayMs: number;
      holdMs: number;
    };

/** Whether a run with this ending goes to its end as if nothing happened (all its jobs decided). */
export const toItsEnd = (e: Ending) => e.kind === 'normal' || e.kind === 'steer';

export interface Scenario {
  nodes: Node[];
  /** The node whose results a last job, `fan`, reads on stdin; null: no fan-in job. */
  fanIn: number | null;
  workers: number;
  /**
   * `--output`, or none given (`default`: with `--json`, logs only). `none` and
   * `grouped` keep a job's streams with the spawner; `stream` reads them line by line
   * in jobrun, on node:child_process.
   */
  output: 'none' | 'grouped' | 'stream' | 'default';
  /** `--spawner`: the per-slot spawners where they can run (`auto`), or node:child_process. */
  spawner: 'auto' | 'child';
  ending: Ending;
  /** After a stop other than kill -9 (which always is), `--resume` runs the rest. */
  resume: boolean;
}

const nodeArb: fc.Arbitrary<Node> = fc.record({
  stage: fc.boolean(),
  from: fc.nat(8),
  needs: fc.array(fc.nat(8), { maxLength: 2 }),
  retries: fc.integer({ min: 0, max: 2 }),
  failFirst: fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 1, 2, 3),
  allowFailure: fc.nat(4).map((n) => n === 0),
  pool: fc.constantFrom('', '', 'a', 'b'),
  priority: fc.integer({ min: 0, max: 2 }),
  ms: fc.integer({ min: 0, max: 150 }),
  items: fc.constantFrom(0, 1, 2, 2, 3),
  leaveChild: fc.nat(5).map((n) => n === 0),
  hang: fc.nat(3).map((n) => n === 0),
});

const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  fc.constant<Ending>({ kind: 'normal' }),
  fc.constant<Ending>({ kind: 'fail-fast' }),
  fc
    .constantFrom('now,fail=1', 'soon,fail=1', 'soon,fail=2', 'now,fail=30%')
    .map((policy): Ending => ({ kind: 'halt', policy })),
  fc.record({
    kind: fc.constant('signal' as const),
    signal: fc.constantFrom('SIGINT' as const, 'SIGTERM' as const),
    afterStarts: fc.integer({ min: 0, max: 12 }),
    delayMs: fc.integer({ min: 0, max: 120 }),
    graceful: fc.option(
      fc.record({ twice: fc.boolean(), gapMs: fc.integer({ min: 0, max: 200 }) }),
      {
        nil: undefined,
      },
    ),
  }),
  fc.record({
    kind: fc.constant('kill9' as const),
    afterStarts: fc.integer({ min: 0, max: 12 }),
    delayMs: fc.integer({ min: 0, max: 120 }),
  }),
  // sent on the run's socket once it listens; early, or most runs are over by then
  fc.record({
    kind: fc.constantFrom('drain' as const, 'cancel' as const),
    afterStarts: fc.integer({ min: 0, max: 4 }),
    delayMs: fc.integer({ min: 0, max: 60 }),
  }),
  fc.record({
    kind: fc.constant('steer' as const),
    action: fc.constantFrom('pause' as const, 'pause-b' as const, 'scale-b' as const),
    afterStarts: fc.integer({ min: 0, max: 4 }),
    delayMs: fc.integer({ min: 0, max: 60 }),
    holdMs: fc.integer({ min: 1500, max: 2500 }),
  }),
);

/** At most this many jobs in a plan, whatever the items: each run stays short. */
const MAX_JOBS = 28;

export const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    nodes: fc.array(nodeArb, { minLength: 2, maxLength: 8 }),
    fanIn: fc.option(fc.nat(8), { nil: null }),
    workers: fc.integer({ min: 1, max: 3 }),
    output: fc.constantFrom(
      'none' as const,
      'grouped' as const,
      'stream' as const,
      'default' as const,
    ),
    spawner: fc.constantFrom('auto' as const, 'child' as const),
    ending: endingArb,
    resume: fc.boolean(),
  })
  .map(bounded);

/**
 * Node 0 is a job, sources and needs point backwards (so the graph is acyclic), the
 * plan stays small, and a drain, cancel or steer finds jobs running.
 */
function bounded(s: Scenario): Scenario {
  // a drain, cancel or steer needs jobs still running when it comes
  const steered = ['drain', 'cancel', 'steer'].includes(s.ending.kind);
  const slower = steered ? 200 : 0;
  const nodes = s.nodes.map((n, i) => ({
    ...n,
    ms: n.ms + slower,
    stage: i > 0 && n.stage,
    from: i > 0 ? n.from % i : 0,
    needs: i > 0 ? [...new Set(n.needs.map((k) => k % i))] : [],
  }));
  while (mostJobs(nodes) > MAX_JOBS) {
    const widest = nodes.reduce((w, n, i) => (n.items > (nodes[w]?.items ?? 0) ? i : w), 0);
    const node = nodes[widest];
    if (node) node.items--;
  }
  return { ...s, nodes, fanIn: s.fanIn === null ? null : s.fanIn % nodes.length };
}

/** Jobs of each node when every job succeeds (the most a plan can have). */
function mostJobs(nodes: Node[]): number {
  const counts: number[] = [];
  nodes.forEach((n, i) => {
    const source = nodes[n.from];
    counts[i] = n.stage && source ? Math.max(1, (counts[n.from] ?? 1) * source.items) : 1;
  });
  return counts.reduce((a, b) => a + b, 0) + 1;
}

export const nodeName = (s: Scenario, i: number) => (s.nodes[i]?.stage ? `s${i}-{item}` : `j${i}`);

/** The items a job prints when it succeeds: its name, file-safe, and a number. */
export function itemsOf(name: string, count: number): string[] {
  const tag = name.replace(/[^a-z0-9]/g, '');
  return Array.from({ length: count }, (_, k) => `${tag}x${k}`);
}

/** The one line an attempt that fails prints, on stderr: whose it is. */
export const failLine = (name: string, attempt: number) => `fail ${name}.${attempt}`;

/**
 * The job's whole life, as markers: start (time, process group, slot), then after its
 * sleep its items on stdout (or, failing, its `failLine` on stderr) and end (time,
 * exit code). So a log tells whose it is. `fanin` keeps its stdin. A Redis worker's
 * jobs write to its own run's folder, also for a `--resume`: an attempt run again
 * first removes the end and input its namesake left there, and `starts` lists every
 * attempt's start.
 */
export const JOB_SCRIPT = `d="ran/$PROP_RUN"; n="$d/$JOBRUN_JOB_NAME.$JOBRUN_ATTEMPT"
rm -f "$n.end" "$n.stdin"; echo "$JOBRUN_JOB_NAME.$JOBRUN_ATTEMPT" >> "$d/starts"
echo "$(date +%s%3N) $(cut -d' ' -f5 /proc/$$/stat) $JOBRUN_SLOT" > "$n.start"
if [ "$4" = 1 ]; then sleep 5 & fi
if [ "$5" = fanin ]; then cat > "$n.stdin"; fi
if [ "$2" != 0 ]; then sleep "$2"; fi
code=0
if [ "$JOBRUN_ATTEMPT" -le "$1" ]; then code=1; fi
if [ $code = 1 ] && [ "$6" = 1 ]; then echo "fail $JOBRUN_JOB_NAME.$JOBRUN_ATTEMPT" >&2; exec sleep 30; fi
if [ $code = 0 ]; then
  tag=$(printf %s "$JOBRUN_JOB_NAME" | tr -cd 'a-z0-9'); k=0
  while [ $k -lt "$3" ]; do echo "\${tag}x$k"; k=$((k+1)); done
else
  echo "fail $JOBRUN_JOB_NAME.$JOBRUN_ATTEMPT" >&2
fi
echo "$(date +%s%3N) $code" > "$n.end"
exit $code
`;

/** The timeout of a node whose failing attempts hang: far above a succeeding attempt's time. */
export const HANG_TIMEOUT_MS = 800;

function command(n: Node, mode: string): string {
  const seconds = (n.ms / 1000).toFixed(3);
  const flags = `${n.leaveChild ? 1 : 0} ${mode} ${n.hang ? 1 : 0}`;
  return `sh job.sh ${n.failFirst} ${n.ms === 0 ? 0 : seconds} ${n.items} ${flags}`;
}

/** The manifest (YAML; every value JSON-quoted, so no name needs YAML's care). */
export function manifestOf(s: Scenario): string {
  const q = JSON.stringify;
  const lines = [
    'version: 1',
    `workers: ${s.workers}`,
    'defaults:',
    '  kill_grace: 2s',
    '  backoff: { delay: 20ms, factor: 2, max: 80ms, jitter: false }',
    'pools:',
    '  a: { workers: 1 }',
    '  b: { workers: 2 }',
    'jobs:',
  ];
  s.nodes.forEach((n, i) => {
    lines.push(`  - name: ${q(nodeName(s, i))}`);
    if (n.stage) lines.push(`    for_each: { from: ${q(nodeName(s, n.from))} }`);
    lines.push(`    run: ${q(command(n, n.stage ? '{item}' : '-'))}`);
    if (n.needs.length > 0)
      lines.push(`    needs: [${n.needs.map((k) => q(nodeName(s, k))).join(', ')}]`);
    if (n.retries > 0) lines.push(`    retries: ${n.retries}`);
    if (n.allowFailure) lines.push('    allow_failure: true');
    if (n.pool) lines.push(`    pool: ${n.pool}`);
    if (n.hang) lines.push(`    timeout: ${HANG_TIMEOUT_MS}ms`);
    if (n.priority > 0) lines.push(`    priority: ${n.priority}`);
  });
  if (s.fanIn !== null) {
    lines.push('  - name: fan', `    stdin: { from: ${q(nodeName(s, s.fanIn))} }`);
    lines.push(`    run: ${q('sh job.sh 0 0 0 0 fanin')}`);
  }
  return lines.join('\n') + '\n';
}

/** What one job of the plan is, for the checks: its node's settings, or the fan-in's. */
export function nodeOf(s: Scenario, name: string): Node {
  if (name === 'fan') return FAN;
  const i = Number(/^[js](\d+)/.exec(name)?.[1]);
  const node = s.nodes[i];
  if (!node) throw new Error(`no node for job ${name}`);
  return node;
}

/** The fan-in job: no retries, never fails by itself. */
const FAN: Node = {
  stage: false,
  from: 0,
  needs: [],
  retries: 0,
  failFirst: 0,
  allowFailure: false,
  pool: '',
  priority: 0,
  ms: 0,
  items: 0,
  leaveChild: false,
  hang: false,
};

/**
 * Every job of the plan and its final state, for a run that went to its end: a job
 * runs when all it needs succeeded and then succeeds unless more attempts fail than
 * it has retries; a stage expands once its source's jobs and its needs all succeeded
 * (a stage template in `needs` means all of its jobs; one with no items has none),
 * else it is one skipped record under its template name. A stage's need on another
 * stage means all of that stage's jobs, for each of its own jobs, as the README says.
 */
export function expectedStates(s: Scenario): Map<string, string> {
  const states = new Map<string, string>();
  const jobsOf: string[][] = [];
  const ran = (deps: string[]) => deps.every((d) => states.get(d) === 'succeeded');
  const outcome = (n: Node) =>
    n.failFirst <= n.retries ? 'succeeded' : n.hang ? 'timed_out' : 'failed';
  s.nodes.forEach((n, i) => {
    const deps = n.needs.flatMap((k) => jobsOf[k] ?? []);
    const sources = n.stage ? (jobsOf[n.from] ?? []) : [];
    const source = s.nodes[n.from];
    if (!ran([...deps, ...sources])) {
      jobsOf[i] = [nodeName(s, i)];
      states.set(nodeName(s, i), 'skipped');
    } else if (n.stage && source) {
      const items = sources.flatMap((src) => itemsOf(src, source.items));
      jobsOf[i] = items.map((item) => `s${i}-${item}`);
      items.forEach((item) => states.set(`s${i}-${item}`, outcome(n)));
    } else {
      jobsOf[i] = [nodeName(s, i)];
      states.set(nodeName(s, i), outcome(n));
    }
  });
  if (s.fanIn !== null) states.set('fan', ran(jobsOf[s.fanIn] ?? []) ? 'succeeded' : 'skipped');
  return states;
}

/** Stop policy flags of the ending; signals and kill -9 are sent by the test. */
export function endingFlags(e: Ending): string[] {
  if (e.kind === 'fail-fast') return ['--fail-fast'];
  if (e.kind === 'halt') return ['--halt', e.policy];
  if (e.kind === 'signal' && e.graceful) return ['--graceful', '5s'];
  return [];
}
