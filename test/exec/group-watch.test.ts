import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { whenGroupGone } from '../../src/exec/group-watch.js';
import * as proc from '../../src/exec/proc.js';

vi.mock('../../src/exec/proc.js', async (original) => {
  const actual = await original<typeof import('../../src/exec/proc.js')>();
  return { ...actual, liveGroups: vi.fn(actual.liveGroups) };
});

const groups: number[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const pid of groups.splice(0)) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

describe.runIf(process.platform === 'linux')('waiting for stopping groups', () => {
  it('walks /proc once per tick for all the groups waited on, and resolves as each empties', async () => {
    for (let i = 0; i < 12; i++) {
      const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
      groups.push(child.pid ?? 0);
    }
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const scans = vi.mocked(proc.liveGroups);
    scans.mockClear();
    let done = 0;
    const all = groups.map((pid) => whenGroupGone(pid, () => false).then(() => done++));
    for (let tick = 1; tick <= 3; tick++) {
      await vi.advanceTimersByTimeAsync(25);
      expect(scans).toHaveBeenCalledTimes(tick);
    }
    expect(done).toBe(0);
    for (const pid of groups) process.kill(-pid, 'SIGKILL');
    // killed processes may linger a moment as zombies until Node reaps them
    for (let tick = 0; tick < 400 && done < groups.length; tick++) {
      await vi.advanceTimersByTimeAsync(25);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(all);
    expect(done).toBe(groups.length);
  });

  it('stops waiting once told the wait is over', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    groups.push(child.pid ?? 0);
    let over = false;
    const waited = whenGroupGone(child.pid, () => over);
    over = true;
    await waited;
  });
});
