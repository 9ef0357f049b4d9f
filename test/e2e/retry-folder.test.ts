import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobrun, tempDir } from './helpers.js';

describe('jobrun retry of a job whose folder is gone', () => {
  it('refuses it (exit 2, naming the folder and the job) unless --cwd says where', async () => {
    const root = tempDir();
    const first = path.join(root, 'first');
    const other = path.join(root, 'other');
    fs.mkdirSync(first);
    fs.mkdirSync(other);
    const report = path.join(root, 'r.json');
    const run = await jobrun(
      [
        'run',
        '--stdin',
        '--report',
        report,
        '--progress',
        'none',
        '--',
        ': {}; rm -f important.db; exit 1',
      ],
      { cwd: first, input: 'cleanup\n' },
    );
    expect(run.code).toBe(1);
    fs.rmSync(first, { recursive: true });
    fs.writeFileSync(path.join(other, 'important.db'), 'data');

    const refused = await jobrun(['retry', report], { cwd: other });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`cannot retry job "cleanup": its folder ${first} is gone`);
    expect(refused.stderr).toContain('--cwd DIR');
    expect(fs.existsSync(path.join(other, 'important.db'))).toBe(true);

    const moved = await jobrun(['retry', report, '--cwd', other], { cwd: root });
    expect(moved.code).toBe(1); // it ran, in the folder it was told
    expect(fs.existsSync(path.join(other, 'important.db'))).toBe(false);

    const bad = await jobrun(['retry', report, '--cwd', path.join(root, 'nowhere')], { cwd: root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not a folder');
  });

  it("the same with the manifest still there: its cwd: gone is the job's, not a manifest error", async () => {
    const dir = tempDir();
    fs.writeFileSync(
      path.join(dir, 'm.yaml'),
      'jobs:\n  - name: f\n    run: "pwd > ../where; false"\n    cwd: sub\n  - name: ok\n    run: "true"\n',
    );
    fs.mkdirSync(path.join(dir, 'sub'));
    const run = await jobrun(['run', 'm.yaml', '--report', 'r.json', '--progress', 'none'], {
      cwd: dir,
    });
    expect(run.code).toBe(1);
    fs.rmdirSync(path.join(dir, 'sub'));
    fs.mkdirSync(path.join(dir, 'other'));

    const refused = await jobrun(['retry', 'r.json'], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(
      `jobrun: cannot retry job "f": its folder ${path.join(dir, 'sub')} is gone; to run it elsewhere, say where with --cwd DIR`,
    );

    const moved = await jobrun(['retry', 'r.json', '--cwd', 'other', '--progress', 'none'], {
      cwd: dir,
    });
    expect(moved.code).toBe(1); // f ran again (and failed again), in other/
    expect(fs.readFileSync(path.join(dir, 'where'), 'utf8').trim()).toBe(path.join(dir, 'other'));
  });
});
