import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, jobrun, tempDir, waitFor, writeFiles } from './helpers.js';

/** Run folders under .jobrun/logs, oldest first. */
function runs(dir: string): string[] {
  return fs
    .readdirSync(path.join(dir, '.jobrun/logs'))
    .filter((n) => /^\d{8}-/.test(n))
    .sort();
}

/** Starts a run of `long.yaml` that lasts until the file `go` appears; resolves once its job runs. */
async function startLongRun(dir: string) {
  const child = spawn(process.execPath, [BIN, 'run', 'long.yaml', '--progress', 'none'], {
    cwd: dir,
    stdio: 'ignore',
  });
  const ended = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitFor(() => fs.existsSync(path.join(dir, 'running')), 20_000, 'the long job');
  return { folder: runs(dir).at(-1) ?? '', ended, kill: () => child.kill('SIGKILL') };
}

describe("a run's files are not removed while it goes", () => {
  it('log retention and jobrun clean leave a live run its log folder, journal and lock', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'long.yaml':
        'version: 1\njobs:\n  - name: long\n' +
        '    run: "echo started; touch running; while [ ! -e go ]; do sleep 0.05; done; echo done"\n',
      'short.yaml': 'version: 1\njobs:\n  - { name: short, run: echo short }\n',
    });
    const long = await startLongRun(dir);
    try {
      // a short run that keeps one run's logs would prune the older, still-running one
      const short = await jobrun(['run', 'short.yaml', '--keep-logs', '1'], { cwd: dir });
      expect(short.code).toBe(0);
      expect(runs(dir)).toContain(long.folder);
      const clean = await jobrun(['clean', '--keep', '0', '--journals'], { cwd: dir });
      expect(clean.code).toBe(0);
      expect(clean.stderr).toContain('kept the files of 1 run still going');
      expect(runs(dir)).toEqual([long.folder]);
      const journal = fs.readdirSync(path.join(dir, '.jobrun/journal'));
      expect(journal.filter((f) => f.endsWith('.ndjson'))).toHaveLength(1);
      expect(journal.filter((f) => f.endsWith('.lock'))).toHaveLength(1);
      // the lock still works: a second run of the same manifest is refused
      expect((await jobrun(['run', 'long.yaml'], { cwd: dir })).code).toBe(2);
    } finally {
      fs.writeFileSync(path.join(dir, 'go'), '');
      if ((await Promise.race([long.ended, delay(20_000)])) === 'late') long.kill();
    }
    expect(await long.ended).toBe(0);
    expect(fs.readFileSync(path.join(dir, '.jobrun/logs', long.folder, '1-long.log'), 'utf8')).toBe(
      'started\ndone\n',
    );
    // once it ended, its files are anyone's to remove
    const after = await jobrun(['clean', '--keep', '0', '--journals'], { cwd: dir });
    expect(after.stderr).not.toContain('still going');
    expect(runs(dir)).toEqual([]);
    expect(fs.existsSync(path.join(dir, '.jobrun/journal'))).toBe(false);
  });
});

function delay(ms: number): Promise<'late'> {
  return new Promise((resolve) => setTimeout(() => resolve('late'), ms).unref());
}
