import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lockJournal } from '../../src/core/journal-lock.js';
import { UsageError } from '../../src/errors.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('lockJournal', () => {
  it('takes the lock, refuses a second taker while held, and releases it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-lock-'));
    const journal = path.join(dir, 'j.ndjson');
    const release = lockJournal(journal, 'm.yaml');
    expect(fs.readdirSync(dir)).toEqual(['j.ndjson.lock']);
    expect(() => lockJournal(journal, 'm.yaml')).toThrow(/another jobrun .* is running m\.yaml/);
    release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a lock it cannot write (a full disk) is a usage error naming the lock, and leaves no file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-lock-'));
    const journal = path.join(dir, 'j.ndjson');
    const write = fs.writeFileSync;
    // as on a full disk: the file is made, its bytes are not
    vi.spyOn(fs, 'writeFileSync').mockImplementation((file) => {
      write(file as string, '');
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    });
    let thrown: unknown;
    try {
      lockJournal(journal, 'm.yaml');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toBe(
      `cannot write the lock ${journal}.lock: ENOSPC: no space left on device, write`,
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});
