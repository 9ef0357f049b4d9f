import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin/jobrun.js');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** The e2e tests run the built bin; `npm test` builds first. */
export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist/cli/main.js')))
    throw new Error('dist/ is missing: run `npm run build` first');
}

/** A temp folder holding a copy of a fixture manifest from fixtures/reporters (jobs run there). */
export function fixtureDir(name: string): { dir: string; manifest: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'jobrun-e2e-reporters-'));
  const manifest = join(dir, basename(name));
  copyFileSync(join(ROOT, 'fixtures/reporters', name), manifest);
  return { dir, manifest, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PtyRun {
  /** Everything the terminal received, escape sequences included. */
  text: string;
  code: number | null;
}

/**
 * Runs jobrun inside a real pseudo-terminal (util-linux `script`), sized cols×rows.
 * `onOutput` may answer with keystrokes (e.g. `\x03` for Ctrl-C) written to the terminal.
 */
export function runInPty(
  args: string[],
  opts: {
    cwd: string;
    env?: NodeJS.ProcessEnv;
    cols?: number;
    rows?: number;
    onOutput?: (text: string) => string | undefined;
  },
): Promise<PtyRun> {
  const cmd = `stty cols ${opts.cols ?? 100} rows ${opts.rows ?? 24}; exec node ${shq(BIN)} ${args.map(shq).join(' ')}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
    cwd: opts.cwd,
    env: {
      ...process.env,
      CI: '',
      GITHUB_ACTIONS: '',
      NO_COLOR: '',
      FORCE_COLOR: '',
      TERM: 'xterm-256color',
      ...opts.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    const keys = opts.onOutput?.(text);
    if (keys) child.stdin.write(keys);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ text, code })));
}

/** Runs the bin with plain pipes. */
export function runBin(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) {
  return spawnSync('node', [BIN, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, CI: 'true', GITHUB_ACTIONS: '', FORCE_COLOR: '0', ...opts.env },
    encoding: 'utf8',
  });
}

// eslint-disable-next-line no-control-regex
export const stripAnsi = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');

export function hasChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing: CI must install Debian's chromium`);
  console.warn(
    `\n!!! SKIPPING the Chromium tests: ${CHROMIUM} is not installed (apt-get install chromium) !!!\n`,
  );
  return false;
}
