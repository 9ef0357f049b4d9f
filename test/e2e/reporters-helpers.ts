import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { brotliDecompressSync } from 'node:zlib';
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

export const stripAnsi = (s: string) => stripVTControlCharacters(s);

/**
 * The Chromium the browser tests drive: Debian's `/usr/bin/chromium` when it is installed
 * (and `JOBRUN_TEST_CHROMIUM` is not `npm`), else the headless shell that the npm package
 * `@sparticuz/chromium` ships (unpacked into the temp folder on first use). So the suite
 * runs on a bare machine with Node alone, and never skips.
 */
export async function chromiumLaunch(): Promise<{
  executablePath: string;
  args: string[];
  env?: Record<string, string>;
}> {
  if (process.env.JOBRUN_TEST_CHROMIUM !== 'npm' && existsSync(CHROMIUM))
    return { executablePath: CHROMIUM, args: CHROMIUM_ARGS };
  const { default: Chromium } = await import('@sparticuz/chromium');
  const executablePath = await Chromium.executablePath();
  return { executablePath, args: CHROMIUM_ARGS, env: libraryEnv(executablePath) };
}

/**
 * The npm build links against NSS and expat; the package carries those libraries for
 * machines that lack them (its `al2023` bundle). When `ldd` finds one missing, they are
 * unpacked beside the binary and put on the browser's `LD_LIBRARY_PATH`.
 */
function libraryEnv(executable: string): Record<string, string> | undefined {
  const ldd = spawnSync('ldd', [executable], { encoding: 'utf8' });
  if (!/not found/.test(ldd.stdout ?? '')) return undefined;
  const lib = join(tmpdir(), 'al2023');
  if (!existsSync(join(lib, 'lib', 'libnss3.so'))) {
    const bundle = join(
      dirname(fileURLToPath(import.meta.resolve('@sparticuz/chromium'))),
      '../../bin/al2023.tar.br',
    );
    mkdirSync(lib, { recursive: true });
    const tar = spawnSync('tar', ['-x', '-C', lib], {
      input: brotliDecompressSync(readFileSync(bundle)),
    });
    if (tar.status !== 0) throw new Error(`unpacking ${bundle} failed: ${tar.stderr}`);
  }
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.LD_LIBRARY_PATH = [join(lib, 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return env;
}
