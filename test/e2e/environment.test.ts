import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir } from './helpers.js';

/** The job: its environment, and the name of the process that started it (python or node). */
const JOB = ': {}; env > env.out; cat /proc/$PPID/comm > parent';

/** An absolute python3, as a run with an empty environment has no PATH to search. */
const PYTHON = execFileSync('/bin/sh', ['-c', 'command -v python3'], { encoding: 'utf8' }).trim();

/** `env` output as sorted lines, without the JOBRUN_* variables jobrun documents. */
function envLines(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('JOBRUN_'))
    .sort();
}

/** What `sh -c env` prints when started with exactly `env` in `cwd`: the reference. */
function shellEnv(env: NodeJS.ProcessEnv, cwd: string): string[] {
  return envLines(spawnSync('/bin/sh', ['-c', 'env'], { env, cwd, encoding: 'latin1' }).stdout);
}

/** The environment a job of `jobrun run` finds when jobrun is started with exactly `env`. */
function jobEnv(env: NodeJS.ProcessEnv, cwd: string): { lines: string[]; parent: string } {
  const res = spawnSync(
    process.execPath,
    // --output none: shown job output goes through node:child_process, whatever the spawner
    [
      BIN,
      'run',
      '--stdin',
      '--shell',
      '/bin/sh',
      '--progress',
      'none',
      '--output',
      'none',
      '--',
      JOB,
    ],
    { env, cwd, input: 'a\n', encoding: 'utf8', timeout: 60_000 },
  );
  expect(res.status, res.stderr).toBe(0);
  return {
    lines: envLines(fs.readFileSync(path.join(cwd, 'env.out'), 'latin1')),
    parent: fs.readFileSync(path.join(cwd, 'parent'), 'utf8').trim(),
  };
}

describe.runIf(process.platform === 'linux')("a job's environment", () => {
  const environments: Record<string, NodeJS.ProcessEnv> = {
    // env -i: no LANG or LC_*, where Python's locale coercion would add LC_CTYPE
    'an empty environment (env -i)': { JOBRUN_PYTHON: PYTHON },
    'a normal environment': { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  };
  for (const [what, base] of Object.entries(environments)) {
    for (const spawner of ['helper', 'child'] as const) {
      it(`is jobrun's, exactly as sh -c sees it, from ${what} (--spawner ${spawner})`, () => {
        const env: NodeJS.ProcessEnv = { ...base, JOBRUN_SPAWNER: spawner };
        const cwd = tempDir();
        const job = jobEnv(env, cwd);
        expect(job.parent).toMatch(spawner === 'helper' ? /^python/ : /^node/);
        expect(job.lines).toEqual(shellEnv(env, cwd));
        expect(job.lines.filter((l) => l.startsWith('LC_CTYPE='))).toEqual(
          env.LC_CTYPE === undefined ? [] : [`LC_CTYPE=${env.LC_CTYPE}`],
        );
        fs.rmSync(cwd, { recursive: true, force: true });
      });
    }
  }
});
