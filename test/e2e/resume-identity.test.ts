import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, jobrun, readLines, tempDir, waitFor, writeFiles } from './helpers.js';

const groups: number[] = [];
afterEach(() => {
  for (const pid of groups.splice(0)) {
    if (pid <= 1) continue; // kill(-0) or kill(-1) would reach far more than a job's group
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe.runIf(process.platform === 'linux')('--resume and groups it cannot be sure of', () => {
  it('does not signal a leftover group whose identity is unknown, and says so', async () => {
    const dir = tempDir();
    // hangs the first time only, so the resumed run can finish
    writeFiles(dir, {
      'm.yaml':
        'version: 1\njobs:\n  - name: j\n' +
        `    run: "[ -e started ] && exit 0; touch started; echo $$ >> pids; sleep 300 & wait"\n`,
    });
    // node:child_process jobs outlive a kill -9 of jobrun (a spawner's jobs do not)
    const first = spawn(process.execPath, [BIN, 'run', 'm.yaml', '--spawner', 'child'], {
      cwd: dir,
      stdio: 'ignore',
    });
    const journalDir = path.join(dir, '.jobrun/journal');
    const journal = await waitFor(() => {
      const name = fs.existsSync(journalDir)
        ? fs.readdirSync(journalDir).find((f) => f.endsWith('.ndjson'))
        : undefined;
      const file = name && path.join(journalDir, name);
      return file && readLines(file).some((l) => l.includes('"running"')) ? file : undefined;
    });
    // the journal says running as the job starts, maybe before its shell wrote its pid
    const leader = await waitFor(() => readLines(path.join(dir, 'pids')).map(Number)[0]);
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    // a missing pid must not become kill(-0), which is the test's own process group
    expect(leader).toBeGreaterThan(1);
    groups.push(leader);
    expect(alive(leader)).toBe(true);
    // as an older jobrun, or one on a system without /proc, wrote it: no start time
    const lines = readLines(journal).map((l) => {
      const entry = JSON.parse(l) as Record<string, unknown>;
      delete entry.start;
      return JSON.stringify(entry);
    });
    fs.writeFileSync(journal, lines.join('\n') + '\n');
    const r = await jobrun(['run', 'm.yaml', '--resume', '--progress', 'none'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      `1 job of the interrupted run may still be running, but jobrun cannot be sure the process groups ${leader} are still theirs`,
    );
    expect(r.stderr).not.toContain('stopped 1 job');
    expect(alive(leader)).toBe(true); // left alone
  });
});
