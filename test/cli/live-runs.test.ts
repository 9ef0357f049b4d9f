import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { claimFolder, folderInUse } from '../../src/cli/live-runs.js';
import { thisProcess } from '../../src/core/journal-lock.js';

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
