/**
 * Checks that need every job at once: unique names, known pools, `needs` that name
 * real jobs, and no dependency cycles. Each problem is added to the issue list at the
 * source position it comes from; nothing throws.
 */
import type { ExpandedJob } from './expand.js';
import type { IssueList } from './locate.js';
import { didYouMean } from './suggest.js';

/** Reports the second (and later) job of each duplicated name, at its name. */
export function checkDuplicateNames(jobs: readonly ExpandedJob[], list: IssueList): void {
  const first = new Map<string, ExpandedJob>();
  for (const job of jobs) {
    const earlier = first.get(job.name);
    if (!earlier) {
      first.set(job.name, job);
      continue;
    }
    const at = ['jobs', earlier.source, 'name'];
    const where =
      earlier.source === job.source
        ? 'from the same job'
        : `first defined at line ${list.lineOf(at)}`;
    list.add(
      ['jobs', job.source, 'name'],
      `duplicate job name ${JSON.stringify(job.name)} (${where})`,
    );
  }
}

/**
 * Reports pools used but not defined under `pools`: at the job's `pool`, or once at
 * `defaults.pool` when the job inherits it.
 */
export function checkPools(
  jobs: readonly ExpandedJob[],
  pools: Record<string, unknown>,
  ownPool: (source: number) => boolean,
  list: IssueList,
): void {
  const names = Object.keys(pools);
  const known = names.length ? `defined pools: ${names.join(', ')}` : 'no pools are defined';
  const reported = new Set<string>();
  for (const job of jobs) {
    const pool = job.settings.pool;
    if (pool === undefined || Object.hasOwn(pools, pool)) continue;
    const at = ownPool(job.source) ? ['jobs', job.source, 'pool'] : ['defaults', 'pool'];
    const key = at.join('\0');
    if (reported.has(key)) continue;
    reported.add(key);
    list.add(at, `unknown pool ${JSON.stringify(pool)} (${known})${didYouMean(pool, names)}`);
  }
}

/** One resolved dependency: the job needed, and which `needs` entry asked for it. */
export interface Edge {
  to: number;
  needIndex: number;
}

/**
 * Resolves each job's `needs` to job positions. In a `for_each` job a need with
 * placeholders pairs per item when the substituted name is a job (`thumb-{stem}` needs
 * `resize-{stem}`); otherwise a need equal to the name template of a `for_each` job means
 * all of that job's expansions; else the need must be exactly a job name. Unknown needs are reported unless `lenient(name)` says
 * the name may belong to a job that failed validation.
 */
export function linkNeeds(
  jobs: readonly ExpandedJob[],
  templates: ReadonlyMap<string, readonly string[]>,
  lenient: (name: string) => boolean,
  list: IssueList,
): Edge[][] {
  const byName = new Map<string, number>();
  jobs.forEach((job, i) => byName.has(job.name) || byName.set(job.name, i));
  const reported = new Set<string>();
  // a "did you mean" never names the job itself, nor its own for_each template: a cycle
  const otherJobs = (job: ExpandedJob): string[] => [
    ...[...byName].filter(([, i]) => jobs[i]!.source !== job.source).map(([name]) => name),
    ...[...templates].filter(([, names]) => !names.includes(job.name)).map(([raw]) => raw),
  ];
  return jobs.map((job) => {
    const edges: Edge[] = [];
    const seen = new Set<number>();
    const push = (to: number, needIndex: number) => {
      if (!seen.has(to)) edges.push({ to, needIndex });
      seen.add(to);
    };
    job.rawNeeds.forEach((raw, needIndex) => {
      // Per item first: in a for_each job, `resize-{stem}` pairs with the same item's job.
      const substituted = job.needs[needIndex] ?? raw;
      const paired = substituted !== raw ? byName.get(substituted) : undefined;
      if (paired !== undefined) return push(paired, needIndex);
      const group = templates.get(raw);
      if (group) {
        for (const name of group) {
          const to = byName.get(name);
          if (to !== undefined) push(to, needIndex);
        }
        return;
      }
      const name = job.needs[needIndex] ?? raw;
      const to = byName.get(name);
      if (to !== undefined) return push(to, needIndex);
      const key = `${job.source}\0${needIndex}`;
      if (lenient(name) || reported.has(key)) return;
      reported.add(key);
      const from =
        name === raw
          ? ''
          : ` (from ${JSON.stringify(raw)} for item ${JSON.stringify(job.item?.value)})`;
      const hint = didYouMean(name, otherJobs(job));
      list.add(
        ['jobs', job.source, 'needs', needIndex],
        `needs unknown job ${JSON.stringify(name)}${from}${hint}`,
      );
    });
    return edges;
  });
}

/**
 * Reports dependency cycles, each as its path (`dependency cycle: a → b → c → a`), at
 * the `needs` entry that closes it. Cycles through the same manifest jobs (say, one per
 * expansion of a `for_each` job) are reported once.
 */
export function checkCycles(
  jobs: readonly ExpandedJob[],
  edges: readonly Edge[][],
  list: IssueList,
): void {
  const state = new Uint8Array(jobs.length); // 0 new, 1 on the stack, 2 done
  const stack: number[] = [];
  const reported = new Set<string>();
  // Iterative DFS, so a long chain of needs cannot overflow the call stack.
  for (let root = 0; root < jobs.length; root++) {
    if (state[root] !== 0) continue;
    const frames: { node: number; next: number }[] = [{ node: root, next: 0 }];
    state[root] = 1;
    stack.push(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1];
      if (!frame) break;
      const edge = edges[frame.node]?.[frame.next++];
      if (!edge) {
        state[frame.node] = 2;
        stack.pop();
        frames.pop();
        continue;
      }
      if (state[edge.to] === 0) {
        state[edge.to] = 1;
        stack.push(edge.to);
        frames.push({ node: edge.to, next: 0 });
      } else if (state[edge.to] === 1) {
        const from = jobs[frame.node];
        const members = [...stack.slice(stack.indexOf(edge.to)), edge.to];
        // The same cycle recurs in every expansion of a for_each job: key it by source jobs.
        const key = [...new Set(members.map((i) => jobs[i]?.source))].sort().join(',');
        if (!from || reported.has(key)) continue;
        reported.add(key);
        const cycle = members.map((i) => jobs[i]?.name);
        list.add(
          ['jobs', from.source, 'needs', edge.needIndex],
          `dependency cycle: ${cycle.join(' → ')}`,
        );
      }
    }
  }
}
