// Shared helpers of the benchmark harness: timed child processes that are always
// killed, temp dirs that are always removed, medians and a plain text table.
// Plain ESM so `node test/bench/run.mjs` needs no build step; nothing here imports src/.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'jobrun.js');

// ---------------------------------------------------------------- cleanup

const children = new Set(); // ChildProcess, each leading its own process group
const tempDirs = new Set();
let cleanedUp = false;

function killGroup(pid, signal = 'SIGKILL') {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

export function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) killGroup(child.pid);
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.once('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    process.stderr.write(`\nbench: ${sig}, killing children and removing temp dirs\n`);
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  });
}
process.once('uncaughtException', (err) => {
  process.stderr.write(`bench: ${err?.stack ?? err}\n`);
  cleanup();
  process.exit(1);
});

/** A fresh temp dir, removed at exit (or earlier with `removeTempDir`). */
export function makeTempDir(label = 'x') {
  const dir = mkdtempSync(join(tmpdir(), `jobrun-bench-${label}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir) {
  rmSync(dir, { recursive: true, force: true });
  tempDirs.delete(dir);
}

/** Spawn in its own process group, tracked so that exit kills it. */
export function spawnTracked(cmd, args, options = {}) {
  const child = spawn(cmd, args, { ...options, detached: true });
  children.add(child);
  child.once('close', () => children.delete(child));
  child.once('error', () => children.delete(child));
  return child;
}

export function stopChild(child, signal = 'SIGKILL') {
  killGroup(child.pid, signal);
}

/**
 * Run a command to completion and time it (spawn → 'close', i.e. every holder of
 * its stdio gone). `stdin`/`stdout` may be a file path; stderr's last 64 KiB are
 * kept. Never throws for a failing command: look at `code` and `timedOut`.
 */
export function runTimed(
  cmd,
  args,
  { stdin, stdout, env, cwd = ROOT, timeoutMs = 120_000, onSpawn } = {},
) {
  return new Promise((resolvePromise) => {
    const fds = [];
    const open = (path, flags) => {
      const fd = openSync(path, flags);
      fds.push(fd);
      return fd;
    };
    const stdio = [
      stdin === undefined ? 'ignore' : open(stdin, 'r'),
      stdout === undefined ? 'ignore' : stdout === 'pipe' ? 'pipe' : open(stdout, 'w'),
      'pipe',
    ];
    let err = '';
    let out = '';
    let timedOut = false;
    const t0 = performance.now();
    let child;
    try {
      child = spawnTracked(cmd, args, { cwd, env, stdio });
    } catch (e) {
      for (const fd of fds) closeSync(fd);
      resolvePromise({ ms: 0, code: null, signal: null, timedOut, stderr: String(e), stdout: '' });
      return;
    }
    for (const fd of fds) closeSync(fd);
    onSpawn?.(child);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      err = (err + d).slice(-65536);
    });
    if (child.stdout) {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d) => {
        out = (out + d).slice(-65536);
      });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      stopChild(child);
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      resolvePromise({
        ms: performance.now() - t0,
        code: null,
        signal: null,
        timedOut,
        stderr: String(e),
        stdout: out,
      });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({
        ms: performance.now() - t0,
        code,
        signal,
        timedOut,
        stderr: err,
        stdout: out,
      });
    });
  });
}

// ---------------------------------------------------------------- numbers

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

export const round = (x, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
export const fmtMs = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(3)} s` : 'n/a');
export const fmtMB = (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MB` : 'n/a');
export const fmtRatio = (r) => (Number.isFinite(r) ? `${r.toFixed(3)}×` : 'n/a');

/** Print rows (arrays of strings) as an aligned table under a header row. */
export function table(header, rows) {
  const all = [header, ...rows].map((r) => r.map((c) => String(c ?? '')));
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i]?.length ?? 0)));
  const line = (r) =>
    '  ' + r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [
    line(all[0]),
    '  ' + widths.map((w) => '-'.repeat(w)).join('  '),
    ...all.slice(1).map(line),
  ];
  console.log(out.join('\n'));
}

// ---------------------------------------------------------------- /proc

/** { rssKB, hwmKB } of a live process, or undefined when it is gone. */
export function procMemory(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+)/.exec(status);
    const hwm = /VmHWM:\s+(\d+)/.exec(status);
    return { rssKB: rss ? Number(rss[1]) : NaN, hwmKB: hwm ? Number(hwm[1]) : NaN };
  } catch {
    return undefined;
  }
}

/** Is `name` an executable on PATH? */
export async function onPath(name) {
  const r = await runTimed('sh', ['-c', `command -v ${name}`], { stdout: 'pipe', timeoutMs: 5000 });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `main(num)` when the module at `moduleUrl` is the script node was started with,
 * so each benchmark is both a module of `run.mjs` and a command of its own.
 * `num('--flag', fallback)` reads a numeric flag from the command line.
 */
export async function whenMain(moduleUrl, main) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const argv = process.argv.slice(2);
  const num = (flag, fallback) => {
    const i = argv.indexOf(flag);
    return i === -1 ? fallback : Number(argv[i + 1]);
  };
  await main(num);
}
