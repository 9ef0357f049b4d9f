import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { jobrun, readLines, tempDir, waitFor, writeFiles, type Result } from './helpers.js';

/**
 * A job that says when it starts and ends (in `events`) and waits until the test
 * releases it (`release/<name>` or `release/all`); bounded at 60 s. `bad` fails.
 */
const GATE = `#!/bin/sh
echo "start $1" >> events
i=0
while [ ! -e "release/$1" ] && [ ! -e release/all ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
echo "end $1" >> events
[ "$1" = bad ] && exit 3
exit 0
`;

/** A folder to run in, with its own runtime folder so no other run is ever seen. */
export class Batch {
  readonly dir = tempDir('jobrun-operate-');
  readonly xdg = path.join(this.dir, 'xdg');
  child: ChildProcess | undefined;
  result: Promise<Result> | undefined;

  constructor() {
    fs.mkdirSync(this.xdg);
    fs.mkdirSync(path.join(this.dir, 'release'));
    writeFiles(this.dir, { 'gate.sh': GATE });
  }

  /** Starts `jobrun run <args> -- sh gate.sh {} ::: <names>` in the background. */
  start(args: string[], names: string[]): Promise<Result> {
    const cmd = ['run', '--progress', 'plain', ...args, '--', 'sh gate.sh {}', ':::', ...names];
    this.result = jobrun(cmd, {
      cwd: this.dir,
      env: { XDG_RUNTIME_DIR: this.xdg },
      onSpawn: (child) => (this.child = child),
      timeoutMs: 90_000,
    });
    return this.result;
  }

  /** Runs a control command against this folder's runs. */
  ctl(args: string[], options: { onSpawn?: (c: ChildProcess) => void } = {}): Promise<Result> {
    return jobrun(args, {
      cwd: this.dir,
      env: { XDG_RUNTIME_DIR: this.xdg },
      timeoutMs: 60_000,
      ...options,
    });
  }

  /** Starts `jobrun <args>` (watch, logs -f); `seen` is what it printed so far (stdout and stderr). */
  follow(args: string[]): {
    result: Promise<Result>;
    seen: () => string;
    pid: () => number | undefined;
  } {
    let seen = '';
    let pid: number | undefined;
    const result = this.ctl(args, {
      onSpawn: (child) => {
        pid = child.pid;
        child.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
        child.stderr?.on('data', (d: Buffer) => (seen += d.toString()));
      },
    });
    return { result, seen: () => seen, pid: () => pid };
  }

  events(): string[] {
    return readLines(path.join(this.dir, 'events'));
  }

  count(kind: 'start' | 'end'): number {
    return this.events().filter((e) => e.startsWith(`${kind} `)).length;
  }

  /** Waits until the jobs `names` have started. */
  started(...names: string[]): Promise<boolean> {
    return waitFor(
      () => names.every((n) => this.events().includes(`start ${n}`)),
      30_000,
      `${names.join(', ')} to start`,
    );
  }

  release(name = 'all'): void {
    fs.writeFileSync(path.join(this.dir, 'release', name), '');
  }

  runFiles(): string[] {
    const dir = path.join(this.xdg, 'jobrun');
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  }

  report(file = 'r.json'): { jobs: Array<Record<string, unknown>> } {
    return JSON.parse(fs.readFileSync(path.join(this.dir, file), 'utf8')) as {
      jobs: Array<Record<string, unknown>>;
    };
  }

  /** Lets every job end and waits for the run (use in `finally`, so nothing is left). */
  async finish(): Promise<Result | undefined> {
    this.release();
    return this.result?.catch(() => undefined);
  }
}

export function byName(report: { jobs: Array<Record<string, unknown>> }) {
  return Object.fromEntries(report.jobs.map((j) => [String(j.name), j]));
}
