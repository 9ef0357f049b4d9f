import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Report } from '../../src/reporters/report.js';
import { alive, jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';
import { byName } from './stages-helpers.js';

/**
 * extract → t-* (one per line) → u-* (a stage of t-*) → load. t-c waits for the file
 * "go", so the first run is always killed with t-c in flight.
 */
const PIPE = `version: 1
workers: 3
jobs:
  - name: extract
    run: echo extract >> ran; printf 'a\\nb\\nc\\n'
  - name: t-{item}
    for_each: { from: extract }
    run: "echo $$ >> pids; echo t-{item} >> ran; [ {item} != c ] || until [ -f go ]; do sleep 0.05; done; echo {item}x; echo {item}y"
  - name: u-{item}
    for_each: { from: "t-{item}" }
    run: echo u-{item} >> ran
  - name: load
    needs: ["u-{item}"]
    run: echo load >> ran
`;

describe('a pipeline killed with -9 and resumed', () => {
  it('runs no succeeded source again, and its stages get the same items', async () => {
    const dir = tempDir();
    writeFiles(dir, { 'm.yaml': PIPE });
    const journalDir = path.join(dir, '.jobrun/journal');
    const journal = () =>
      fs.existsSync(journalDir)
        ? fs.readdirSync(journalDir).flatMap((f) => readLines(path.join(journalDir, f)))
        : [];
    const succeeded = (name: string) =>
      journal().some((l) => l.includes(`"name":"${name}"`) && l.includes('"succeeded"'));
    const first = await jobrun(['run', 'm.yaml'], {
      cwd: dir,
      onSpawn: (child) => {
        void waitFor(
          () => ['t-a', 't-b'].every(succeeded) && readLines(path.join(dir, 'ran')).includes('t-c'),
          20_000,
          't-c in flight',
        ).then(() => child.kill('SIGKILL'));
      },
    });
    expect(first.signal).toBe('SIGKILL');
    // t-c's shell outlived jobrun: --resume stops it before anything runs again
    const ranBefore = readLines(path.join(dir, 'ran'));
    expect(ranBefore.filter((l) => l === 'extract')).toHaveLength(1);

    fs.writeFileSync(path.join(dir, 'go'), '');
    const resumed = await jobrun(['run', 'm.yaml', '--resume', '--json'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    const report = JSON.parse(resumed.stdout) as Report;
    const jobs = byName(report);
    expect(jobs.extract).toMatchObject({
      status: 'succeeded',
      reason: 'succeeded in an earlier run',
      result: ['a', 'b', 'c'],
    });
    expect(jobs['t-a']).toMatchObject({ attempts: [], result: ['ax', 'ay'] });
    expect(jobs['t-c']!.attempts).toHaveLength(1);
    expect(Object.keys(jobs).filter((n) => n.startsWith('u-'))).toEqual([
      'u-ax',
      'u-ay',
      'u-bx',
      'u-by',
      'u-cx',
      'u-cy',
    ]);
    expect(report.summary).toMatchObject({ total: 11, succeeded: 11 });
    const ran = readLines(path.join(dir, 'ran')).slice(ranBefore.length);
    expect(ran.filter((l) => l === 'extract' || l === 't-a' || l === 't-b')).toEqual([]);
    expect(ran.filter((l) => l.startsWith('u-')).sort()).toHaveLength(6);
    // no shell of either run is left (a killed orphan may take init a moment to reap)
    const pids = readLines(path.join(dir, 'pids')).map(Number);
    await waitFor(() => pids.every((pid) => !alive(pid)), 10_000, 'no job left running');
  });
});
