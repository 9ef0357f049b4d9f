import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tempDir, writeFiles } from './helpers.js';

/**
 * A `--cache-dir` on a read-only mount (a CI cache restored read-only, an NFS export):
 * made with a bind mount in a mount namespace of the run's own (`unshare -m`), as root
 * ignores a folder's mode bits.
 */
const mountable = canMountPrivately();

function canMountPrivately(): boolean {
  if (spawnSync('unshare', ['-m', '--propagation', 'private', 'true']).status === 0) return true;
  const suite = 'test/e2e/cache-readonly.test.ts (a cache folder on a read-only mount)';
  if (process.env.CI) throw new Error(`${suite}: unshare -m cannot run here, and CI is set`);
  console.warn(`\n!!! ${suite}: SKIPPED — unshare -m needs root (or user namespaces).\n`);
  return false;
}

/** Runs `jobrun run jobs.yaml --cache-dir CACHE` in `dir` with CACHE mounted read-only. */
function runReadOnly(dir: string, cache: string): { code: number | null; stderr: string } {
  return runMounted(dir, cache, 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" "$1"');
}

/** The same with CACHE a filesystem of its own of 64 KiB: a full disk. */
function runFull(dir: string, cache: string): { code: number | null; stderr: string } {
  return runMounted(dir, cache, 'mount -t tmpfs -o size=64k jobrun-full "$1"');
}

function runMounted(dir: string, cache: string, mount: string) {
  const script = `${mount} && exec "$2" "$3" run jobs.yaml --output none --cache-dir "$1"`;
  const r = spawnSync(
    'unshare',
    ['-m', '--propagation', 'private', 'sh', '-c', script, 'sh', cache, process.execPath, BIN],
    { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, NO_COLOR: '1' } },
  );
  return { code: r.status, stderr: r.stderr };
}

/**
 * A folder with `count` cached jobs (`workers` at once), job i running `run(i)` and
 * storing `out<i>.<ext>`, and an empty `cache` folder beside them.
 */
function cachedJobs(count: number, workers: number, run: (i: number) => string, ext: string) {
  const dir = tempDir('jobrun-cache-ro-');
  const jobs = Array.from(
    { length: count },
    (_, i) => `  - name: job${i}
    cache: true
    run: "${run(i)}"
    outputs: [out${i}.${ext}]
`,
  ).join('');
  writeFiles(dir, { 'jobs.yaml': `version: 1\nworkers: ${workers}\njobs:\n${jobs}` });
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  return { dir, cache };
}

describe.runIf(mountable)('a cache folder on a read-only mount', () => {
  it('runs and says the folder is read-only, not that it does not exist; its entries still hit', () => {
    const dir = tempDir('jobrun-cache-ro-');
    writeFiles(dir, {
      'jobs.yaml': `version: 1
jobs:
  - name: make
    cache: true
    run: "echo made >> ran.log && echo out > out.txt"
    outputs: [out.txt]
`,
    });
    const cache = path.join(dir, 'cache');
    fs.mkdirSync(cache);
    const empty = runReadOnly(dir, cache);
    expect(empty.code, empty.stderr).toBe(0);
    expect(empty.stderr).toContain('make: not cached: EROFS');
    expect(empty.stderr).toContain('no other job of this run is stored');
    expect(empty.stderr).not.toContain('ENOENT');
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('out\n');

    // filled while writable, then read-only: a hit restores, the touch it cannot make aside
    const filled = spawnSync(process.execPath, [BIN, 'run', 'jobs.yaml', '--cache-dir', cache], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(filled.status, filled.stderr).toBe(0);
    fs.rmSync(path.join(dir, 'out.txt'));
    fs.rmSync(path.join(dir, 'ran.log'));
    const hit = runReadOnly(dir, cache);
    expect(hit.code, hit.stderr).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('out\n');
    expect(fs.existsSync(path.join(dir, 'ran.log'))).toBe(false);
  });

  it('says once, not per job, that nothing can be stored; every job still runs', () => {
    const { dir, cache } = cachedJobs(5, 2, (i) => `echo ${i} > out${i}.txt`, 'txt');
    const run = runReadOnly(dir, cache);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/not cached/g), run.stderr).toHaveLength(1);
    expect(run.stderr).toContain('no other job of this run is stored');
    for (let i = 0; i < 5; i++)
      expect(fs.readFileSync(path.join(dir, `out${i}.txt`), 'utf8')).toBe(`${i}\n`);
  });

  it('a full disk: said once, with what it means; every job still runs', () => {
    // each output is larger than the whole cache filesystem
    const { dir, cache } = cachedJobs(
      4,
      1,
      (i) => `head -c 200000 /dev/urandom > out${i}.bin`,
      'bin',
    );
    const run = runFull(dir, cache);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr.match(/not cached/g), run.stderr).toHaveLength(1);
    expect(run.stderr).toMatch(/not cached: ENOSPC.*; no other job of this run is stored/);
    for (let i = 0; i < 4; i++)
      expect(fs.statSync(path.join(dir, `out${i}.bin`)).size).toBe(200000);
  });
});
