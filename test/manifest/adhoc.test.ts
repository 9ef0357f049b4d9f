import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { adHocJob, commandTemplate } from '../../src/manifest/index.js';
import { matchFiles } from '../../src/manifest/expand.js';
import { cleanTempDirs, sh, tempDir } from './helpers.js';

afterAll(cleanTempDirs);

const NASTY = 'x;touch PWNED; $(touch PWNED) `touch PWNED` it\'s "q".txt';

describe('commandTemplate', () => {
  it('treats one word as a shell command line with quoted placeholders', () => {
    const t = (item: string, i: number) =>
      commandTemplate(['gzip -9 {} && rm -f {}.tmp'])(item, i).command;
    expect(t('a b.log', 1)).toBe("gzip -9 'a b.log' && rm -f 'a b.log'.tmp");
    expect(commandTemplate(['echo {#}/{.}'])('d/x.png', 3).command).toBe('echo 3/d/x');
  });

  it('keeps each of several words one argument, placeholders substituted inside', () => {
    const t = (item: string, i: number) =>
      commandTemplate(['convert', '{}', '{.}.webp'])(item, i).command;
    expect(t('a b.png', 1)).toBe("convert 'a b.png' 'a b.webp'");
    const dir = tempDir();
    const cmd = commandTemplate(['sh', '-c', 'printf "[%s]" "$1"', 'sh', '{}'])(NASTY, 1).command;
    expect(sh(cmd, dir)).toBe(`[${NASTY}]`);
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
  });

  it('appends the quoted item when no word has a placeholder', () => {
    expect(commandTemplate(['gzip -9'])('a b', 1).command).toBe("gzip -9 'a b'");
    expect(commandTemplate(['printf', '[%s]'])('a b', 1).command).toBe("printf '[%s]' 'a b'");
    const dir = tempDir();
    expect(sh(commandTemplate(['printf', '[%s]'])(NASTY, 1).command, dir)).toBe(`[${NASTY}]`);
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
  });

  it('runs a one-word command line safely with hostile items', () => {
    const dir = tempDir();
    expect(sh(commandTemplate(["printf '[%s]' {} {/}"])(`d/${NASTY}`, 1).command, dir)).toBe(
      `[d/${NASTY}][${NASTY}]`,
    );
    expect(fs.existsSync(path.join(dir, 'PWNED'))).toBe(false);
  });

  it('rejects an empty command', () => {
    expect(() => commandTemplate([])).toThrow(UsageError);
  });
});

describe('adHocJob', () => {
  it('names the job after its item and applies job defaults', () => {
    expect(adHocJob('logs/a.log', 4, 'gzip logs/a.log', { cwd: '.', shell: '/bin/bash' })).toEqual({
      name: 'logs/a.log',
      command: 'gzip logs/a.log',
      index: 4,
      priority: 0,
      needs: [],
      killGraceMs: 5000,
      retries: 0,
      backoff: { delayMs: 1000, factor: 2, maxMs: 60_000, jitter: true },
      shell: '/bin/bash',
      cwd: process.cwd(),
      env: {},
      allowFailure: false,
    });
  });

  it('takes timeout, retries and other settings from the base', () => {
    const job = adHocJob('x', 0, 'c', {
      cwd: '/w',
      shell: '/bin/sh',
      timeout: { ms: 1000 },
      retries: 2,
      pool: 'p',
    });
    expect(job).toMatchObject({ timeout: { ms: 1000 }, retries: 2, pool: 'p', cwd: '/w' });
  });
});

describe('matchFiles (--glob)', () => {
  it('returns matching files sorted, without dotfiles or directories', async () => {
    const dir = tempDir({
      'b.log': '',
      'a.log': '',
      'sub/c.log': '',
      '.d.log': '',
      'dir.log/x': '',
    });
    expect(await matchFiles('**/*.log', dir)).toEqual(['a.log', 'b.log', 'sub/c.log']);
  });

  it('returns nothing when nothing matches (the run then has nothing to do)', async () => {
    expect(await matchFiles('*.nope', tempDir())).toEqual([]);
  });
});
