import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { procStat } from '../../src/exec/proc.js';

describe('procStat', () => {
  it('reads what /proc/<pid>/stat says, again and again from one buffer', () => {
    const text = readFileSync(`/proc/${process.pid}/stat`, 'latin1');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    for (let i = 0; i < 3; i++) {
      expect(procStat(process.pid)).toEqual({
        pid: process.pid,
        state: 'R',
        pgid: Number(fields[2]),
        startTicks: Number(fields[19]),
      });
    }
    // a shorter line read after a longer one is not mixed with its tail
    expect(procStat(1)?.pid).toBe(1);
    expect(procStat(process.pid)?.startTicks).toBe(Number(fields[19]));
  });

  it('is undefined for a process that is gone', () => {
    expect(procStat(2 ** 22 + 1)).toBeUndefined();
  });
});
