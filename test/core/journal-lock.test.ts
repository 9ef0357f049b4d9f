import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { lockJournal, readHolder } from '../../src/core/journal-lock.js';
import { bootId, procStat } from '../../src/exec/proc.js';
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

  it('a holder that died but was not reaped yet (a zombie) holds nothing: the lock is taken', async () => {
    // A jobrun killed under a parent that does not reap it stays a zombie, with its pid
    // and start time: the next run (a --resume) was refused, "another jobrun is running".
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jobrun-lock-'));
    const journal = path.join(dir, 'j.ndjson');
    const parent = spawn(
      'python3',
      [
        '-c',
        'import os, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [out] = (await once(parent.stdout, 'data')) as [Buffer];
      const pid = Number(out.toString().trim());
      for (let i = 0; i < 250 && procStat(pid)?.state !== 'Z'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const stat = procStat(pid);
      expect(stat?.state).toBe('Z');
      const holder = {
        pid,
        boot: bootId(),
        start: stat?.startTicks,
        since: new Date().toISOString(),
      };
      fs.writeFileSync(`${journal}.lock`, JSON.stringify(holder));
      const release = lockJournal(journal, 'm.yaml');
      expect(readHolder(`${journal}.lock`)?.pid).toBe(process.pid);
      release();
    } finally {
      parent.kill('SIGKILL');
    }
  });
});
