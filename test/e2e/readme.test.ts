/**
 * Every README example marked runnable (a ```sh block right after `<!-- runnable -->`)
 * runs as printed, with `jobrun` on PATH as `npm link` puts it there, from a copy of the
 * clone's fixtures (so what the examples write stays out of the tree). Each block runs
 * under `bash -e -o pipefail`, so any failing line fails it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, tempDir } from './helpers.js';

/** The runnable blocks of `markdown`, each with the line it starts on. */
function runnableBlocks(markdown: string): { line: number; script: string }[] {
  const blocks: { line: number; script: string }[] = [];
  const re = /<!-- runnable -->\n+```sh\n([\s\S]*?)\n```/g;
  for (let m = re.exec(markdown); m !== null; m = re.exec(markdown)) {
    blocks.push({ line: markdown.slice(0, m.index).split('\n').length, script: m[1]! });
  }
  return blocks;
}

/** A folder with a `jobrun` command that runs the built bin, as `npm link` would. */
function linkedBin(): string {
  const bin = tempDir('jobrun-readme-bin-');
  fs.writeFileSync(
    path.join(bin, 'jobrun'),
    `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}

describe('README examples', () => {
  const blocks = runnableBlocks(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));

  it('has runnable blocks, the quick start among them', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    expect(blocks[0]!.script).toContain('jobrun run fixtures/examples/quickstart.yaml');
  });

  it.each(blocks.map((b) => [b.line, b.script] as const))(
    'the block at README line %i runs as printed',
    (_line, script) => {
      const dir = tempDir('jobrun-readme-');
      fs.cpSync(path.join(ROOT, 'fixtures/examples'), path.join(dir, 'fixtures/examples'), {
        recursive: true,
        filter: (from) => !/^out($|-)/.test(path.basename(from)),
      });
      const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], {
        cwd: dir,
        env: { ...process.env, PATH: `${linkedBin()}:${process.env.PATH}`, CI: 'true' },
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, `${script}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(0);
    },
    150_000,
  );
});
