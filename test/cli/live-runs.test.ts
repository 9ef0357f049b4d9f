import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimFolder, folderInUse, lockLogFolder } from '../../src/cli/live-runs.js';
import { thisProcess } from '../../src/core/journal-lock.js';
import { UsageError } from '../../src/errors.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-live-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('who owns a run folder', () => {
  it('is this jobrun while it runs, nobody once released', () => {
    const dir = fs.mkdtempSync(path.join(root, 'run-'));
    const release = claimFolder(dir);
    expect(folderInUse(dir)).toBe(true);
    release();
    expect(folderInUse(dir)).toBe(false);
  });

  it.runIf(process.platform === 'linux')(
    'is nobody when the recorded process is gone or its pid was recycled',
    () => {
      const dir = fs.mkdtempSync(path.join(root, 'run-'));
      const me = thisProcess();
      fs.writeFileSync(
        path.join(dir, '.owner'),
        JSON.stringify({ ...me, start: (me.start ?? 0) + 1 }),
      );
      expect(folderInUse(dir)).toBe(false);
      fs.writeFileSync(path.join(dir, '.owner'), JSON.stringify({ ...me, boot: 'another' }));
      expect(folderInUse(dir)).toBe(false);
    },
  );
});

describe('a --logs folder', () => {
  it('is locked by one run at a time; a dead holder’s lock is taken over', () => {
    const dir = fs.mkdtempSync(path.join(root, 'logs-'));
    const release = lockLogFolder(dir, '--logs L');
    expect(fs.readdirSync(dir)).toEqual(['.jobrun.lock']);
    let thrown: unknown;
    try {
      lockLogFolder(dir, '--logs L');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toMatch(
      new RegExp(
        `^--logs L: another jobrun \\(pid ${process.pid}, since .*\\) is writing its logs there`,
      ),
    );
    release();
    expect(fs.readdirSync(dir)).toEqual([]);
    // left by a jobrun that died: stale
    fs.writeFileSync(path.join(dir, '.jobrun.lock'), JSON.stringify({ pid: 2 ** 22 + 1 }));
    lockLogFolder(dir, '--logs L')();
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
