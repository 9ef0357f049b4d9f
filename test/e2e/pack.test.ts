import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT, tempDir, writeFiles } from './helpers.js';

/**
 * The packed package, installed like a user would: the tarball carries the built
 * code and the bin shim, and its dependencies are declared (not borrowed from this
 * checkout's node_modules).
 */
it('installs from the packed tarball and runs a manifest', { timeout: 180_000 }, () => {
  const dir = tempDir('jobrun-pack-');
  // stderr is captured, not inherited: npm lists every file of the tarball there as a
  // `npm notice` line, which would drown the test results (an error still shows it)
  const out = execFileSync('npm', ['pack', '--pack-destination', dir, '--ignore-scripts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tarball = path.join(dir, out.trim().split('\n').at(-1)!);
  const app = path.join(dir, 'app');
  writeFiles(app, {
    'package.json': '{ "name": "app", "private": true }',
    'jobs.yaml':
      'version: 1\njobs:\n  - { name: hello, run: "echo hi > out.txt; cat /proc/$PPID/comm > parent.txt || true" }\n',
  });
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: app,
    stdio: 'ignore',
  });
  const report = JSON.parse(
    execFileSync(path.join(app, 'node_modules/.bin/jobrun'), ['run', 'jobs.yaml', '--json'], {
      cwd: app,
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    }),
  ) as { exitCode: number; summary: { succeeded: number } };
  expect(report.exitCode).toBe(0);
  expect(report.summary.succeeded).toBe(1);
  expect(fs.readFileSync(path.join(app, 'out.txt'), 'utf8')).toBe('hi\n');
  // the spawner's Python source ships inside the package: the job's parent is python
  if (
    process.platform === 'linux' &&
    spawnSync('python3', ['-c', 'import os; os.posix_spawn']).status === 0
  )
    expect(fs.readFileSync(path.join(app, 'parent.txt'), 'utf8')).toMatch(/^python/);
});
