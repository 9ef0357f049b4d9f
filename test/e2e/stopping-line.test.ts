import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobrun, tempDir, writeFiles } from './helpers.js';

interface Report {
  jobs: { name: string; status: string; attempts: unknown[] }[];
}

/**
 * The line a stop prints counts the jobs it stops, and their longest grace, though a
 * spawner tells jobrun of a start late: a new one once it is up, one with jobs queued
 * behind the running job up to 50 ms after (with the end of the job before it).
 */
describe('the stopping line', () => {
  it('counts the jobs handed to spawners that are not heard to start yet', async () => {
    const dir = tempDir();
    const job = (name: string) => `  - name: ${name}\n    run: "sleep 30"\n`;
    writeFiles(dir, { 'm.yaml': `version: 1\njobs:\n${job('a')}${job('b')}` });
    const r = await jobrun(['run', 'm.yaml', '-j', '2', '--json'], {
      cwd: dir,
      // at the run's first line both jobs are handed out, their spawners just starting
      onSpawn: (child) => child.stderr?.once('data', () => child.kill('SIGINT')),
    });
    expect(r.signal, r.stderr).toBe('SIGINT');
    expect(r.stderr).toMatch(/stopping: SIGTERM to (up to )?2 running jobs/);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.jobs.map((j) => j.status)).toEqual(['cancelled', 'cancelled']);
  });

  it('takes the grace of a job started behind another, though its start is not heard of yet', async () => {
    const dir = tempDir();
    const quick = (name: string) => `  - name: ${name}\n    run: "true"\n    kill_grace: 200ms\n`;
    const before = ['a0', 'a1', 'a2', 'a3'].map(quick).join('');
    const after = Array.from({ length: 8 }, (_, i) => quick(`c${i}`)).join('');
    // it asks for the stop as it starts, with jobs queued behind it: its start is held back
    const stubborn = `  - name: stubborn
    run: 'trap "" TERM; kill -INT $(cat jobrun.pid); sleep 30'
    kill_grace: 1500ms
`;
    writeFiles(dir, { 'm.yaml': `version: 1\njobs:\n${before}${stubborn}${after}` });
    const r = await jobrun(['run', 'm.yaml', '-j', '1', '--json'], {
      cwd: dir,
      onSpawn: (child) => fs.writeFileSync(path.join(dir, 'jobrun.pid'), String(child.pid)),
    });
    expect(r.signal, r.stderr).toBe('SIGINT');
    expect(r.stderr).toMatch(/stopping: SIGTERM to (up to )?1 running job, SIGKILL in 1\.50s/);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.jobs.find((j) => j.name === 'stubborn')).toMatchObject({ status: 'cancelled' });
  });
});
