import { describe, expect, it } from 'vitest';
import { jobrun, tempDir, writeFiles } from './helpers.js';

describe('jobrun retry of a report with nothing to re-run', () => {
  it('says that jobs --only left out did not run, rather than that every job succeeded', async () => {
    const dir = tempDir();
    writeFiles(dir, {
      'm.yaml': 'jobs:\n  - name: ok\n    run: "true"\n  - name: bad\n    run: exit 1\n',
    });
    const run = await jobrun(['run', 'm.yaml', '--only', 'ok', '--report', 'r.json'], { cwd: dir });
    expect(run.code).toBe(0);
    const retry = await jobrun(['retry', 'r.json'], { cwd: dir });
    expect(retry.code).toBe(0);
    expect(retry.stderr).toBe(
      'jobrun: nothing to retry: every job in r.json that ran succeeded; 1 was left out by ' +
        '--only, which a retry does not run\n',
    );
  });
});
